"""Analytics benchmarks: CDNOW (BG/NBD, Gamma-Gamma, hold-out), churn, next best offer,
segment value and scale, on the public CDNOW data and on generated data with planted truth."""
