"""System tests of the Stripe connector against a real localstripe server."""
