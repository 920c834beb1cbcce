"""The in-memory customer search index: inverted name tokens, e-mails, phones and source ids.

Scales to millions of golden records: a name query never scores every name. Each folded
query word picks its candidate names through an inverted index of folded name tokens —
the word itself, vocabulary words within a few typos (rapidfuzz over the vocabulary, not
the names; remembered per word for the life of the index) and words it is a prefix of —
and only those candidates are scored with rapidfuzz's WRatio (token order, partial names,
typos) — of them only those whose WRatio bound from character and word counts reaches the
cut-off (`hub.steward.search_bound`: exact, the same hits as scoring them all). E-mails,
phones and source ids are dictionary lookups; a mistyped e-mail is compared only with
e-mails sharing its first or last three letters, a phone tail only with phones ending in
the same six digits.

Names are indexed by spelling: a golden record and its source records mostly carry one
name (2M names are 473k spellings in the 1M bench store), so the token postings, the
shared-word counts and the scoring all run over distinct spellings, and only the spellings
that score are expanded to the names (and golden records) carrying them — through arrays
of each spelling's name positions, built once per index.

The index keeps no display data: the page's hits are read from the store, so a golden
record merged away since the build never shows up, even before the next rebuild.
"""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from collections.abc import Callable, Collection, Iterable
from typing import Any

import numpy as np
import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.engine import Connection

from hub.core.states import GoldenStatus
from hub.steward.search_bound import MAX_WORDS, SpellingCounts, query_words, wratio_scores
from hub.store.tables import crosswalk, customer_records, golden_records
from identity.contact import country_of_email, normalise_email
from identity.folding import fold_words
from identity.phones import normalise_phone, phone_key

__all__ = [
    "FUZZY_GATE",
    "MAX_CANDIDATES",
    "PRUNE",
    "PRUNE_FROM",
    "Ranked",
    "SearchIndex",
    "display_name",
]

MAX_CANDIDATES = 30_000  # names scored per query at most: those sharing most query words
# score only the candidate spellings whose WRatio bound reaches the cut-off (identical hits;
# off only to compare with scoring every candidate, in tests and the benchmark)
PRUNE = True
# candidate spellings from which the bound pays (its fixed cost is that of scoring ~300); an
# index of fewer spellings (the demo's, an overlay layer's) builds no counts at all
PRUNE_FROM = 512
_VOCAB_MATCHES = 40  # vocabulary words per query word within typo distance
_VOCAB_CACHE = 20_000  # query words whose vocabulary matches an index remembers
_PREFIX_MATCHES = 200  # vocabulary words per query word it is a prefix of
_CHUNK = 500  # golden ids per IN (...) when indexing a chosen few
_DIGITS = re.compile(r"\D+")
_PHONE_LIKE = re.compile(r"^[\s+()./0-9-]{6,}$")
_COUNTRIES = (None, "HU", "PL", "IL", "GB", "US", "DE")

Ranked = list[tuple[str, float, str]]  # (golden id, score, which value matched)
_Owners = str | tuple[str, ...]
_Ints = np.ndarray[Any, np.dtype[np.intp]]
_Floats = np.ndarray[Any, np.dtype[np.float64]]


def display_name(record: Any) -> str:
    """The name a person reads: given + family name, else full or organisation name."""
    parts = [record.get("given_name"), record.get("family_name")]
    joined = " ".join(p for p in parts if p)
    return joined or record.get("full_name") or record.get("organization_name") or ""


def _put(table: dict[str, _Owners], key: str, gid: str) -> None:
    """One owner is kept as a plain string (most keys have one): a third of a set's memory."""
    had = table.get(key)
    if had is None:
        table[key] = gid
    elif isinstance(had, str):
        if had != gid:
            table[key] = (had, gid)
    elif gid not in had:
        table[key] = (*had, gid)


def _owners(value: _Owners | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


# One query's fuzzy scoring at a time per process. The GIL runs one anyway; without the gate
# every CPU-bound search thread contends for it, and a short request (a customer page, an
# override, an exact id or phone lookup) waits a switch interval behind each of them for every
# statement it runs. With it, only one scoring thread competes: at 1M golden records under 20
# clients the other endpoints' p95 fell from 169-266 ms to 117-180 ms (README, benchmarks).
FUZZY_GATE = threading.Lock()


class SearchIndex:
    """Folded names (inverted by token), normalised e-mails and phones, source ids."""

    def __init__(self, conn: Connection, *, only: Collection[str] | None = None) -> None:
        """Index the store's active golden records, or with `only` just those golden ids
        (the small overlay of records changed since a full build, see hub.steward.search)."""
        self.names: list[str] = []
        self.name_owner = array("i")  # name position -> golden position
        # name position -> distinct name: a golden record and its source records mostly
        # carry one name, so a query scores each distinct spelling once
        self.name_key = array("i")
        self.distinct_names: list[str] = []
        self._name_keys: dict[str, int] | None = {}  # while building
        self.golden_ids: list[str] = []
        self.emails: dict[str, _Owners] = {}
        self.phones: dict[str, _Owners] = {}
        self.ids: dict[str, _Owners] = {}
        self.keys: dict[str, _Owners] = {}
        self._postings: dict[str, array[int]] = {}  # folded token -> spellings, ascending
        self._email_buckets: dict[str, list[str]] = {}
        self._phone_tails: dict[str, list[str]] = {}
        if only is None:
            self._load(conn, None)
        else:
            wanted = sorted(set(only))
            for start in range(0, len(wanted), _CHUNK):
                self._load(conn, wanted[start : start + _CHUNK])
        self.vocabulary = sorted(self._postings)
        self._name_keys = None  # a query needs only name_key
        self._vocab_cache: dict[str, tuple[str, ...]] = {}
        # spellings as an array (a query's choices are one fancy index, not a list loop), and
        # each spelling's name positions: _by_spelling[_start[k]:_start[k + 1]], ascending
        self._spellings = np.array(self.distinct_names, dtype=object)
        keys = np.frombuffer(self.name_key, dtype=np.int32)
        self._by_spelling = np.argsort(keys, kind="stable").astype(np.int32)
        self._start = np.zeros(len(self.distinct_names) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=len(self.distinct_names)), out=self._start[1:])
        self._arrays()
        # each spelling's character and word counts: a WRatio bound before scoring
        self.spelling_counts: SpellingCounts | None = None
        if len(self.distinct_names) >= PRUNE_FROM:
            self.spelling_counts = SpellingCounts(self.distinct_names)

    def _arrays(self) -> None:
        """Each name's golden position, and each golden record's place in golden-id order:
        a name query's hits are deduplicated and ranked in NumPy, not in a loop per name."""
        self._owner = np.frombuffer(self.name_owner, dtype=np.int32)
        order = np.argsort(np.array(self.golden_ids, dtype=object), kind="stable")
        self._gid_rank = np.empty(len(self.golden_ids), dtype=np.int64)
        self._gid_rank[order] = np.arange(len(self.golden_ids))

    def _load(self, conn: Connection, gids: list[str] | None) -> None:
        g, c, x = golden_records.c, customer_records.c, crosswalk.c
        fields = ("given_name", "family_name", "full_name", "organization_name")
        golden_fields = [g.record[f].as_string().label(f) for f in (*fields, "email", "phone")]
        golden = sa.select(
            g.golden_id, *golden_fields, g.record["country"].as_string().label("country")
        ).where(g.status == GoldenStatus.ACTIVE)
        sources = (
            sa.select(c.source, c.source_id, c.given_name, c.family_name, c.full_name)
            .add_columns(c.organization_name, c.email, c.phone, c.country, x.golden_id)
            .join(crosswalk, sa.and_(x.source == c.source, x.source_id == c.source_id))
            .where(c.deleted.is_(False))
        )
        if gids is not None:
            golden = golden.where(g.golden_id.in_(gids))
            sources = sources.where(x.golden_id.in_(gids))
        position: dict[str, int] = {}
        for row in conn.execute(golden.execution_options(yield_per=20_000)):
            position[row.golden_id] = len(self.golden_ids)
            self.golden_ids.append(row.golden_id)
            self._add(row.golden_id, position[row.golden_id], row._mapping, None)
        for row in conn.execute(sources.execution_options(yield_per=20_000)):
            at = position.get(row.golden_id)
            if at is not None:
                self._add(row.golden_id, at, row._mapping, row.source_id)
                _put(self.keys, f"{row.source}/{row.source_id}".casefold(), row.golden_id)

    def _add(self, gid: str, at: int, record: Any, source_id: str | None) -> None:
        name = fold_words(display_name(record))
        if name:
            keys = self._name_keys
            assert keys is not None, "names are added while the index is built"
            spelling = keys.get(name)
            if spelling is None:
                spelling = keys[name] = len(self.distinct_names)
                self.distinct_names.append(name)
                for token in set(name.split()):
                    postings = self._postings.get(token)
                    if postings is None:
                        postings = self._postings[token] = array("i")
                    postings.append(spelling)
            self.names.append(self.distinct_names[spelling])  # one string object per spelling
            self.name_key.append(spelling)
            self.name_owner.append(at)
        email = normalise_email(record.get("email"))
        if email and email not in self.emails:
            local = email.partition("@")[0]
            for key in (f"<{local[:3]}", f">{local[-3:]}"):
                self._email_buckets.setdefault(key, []).append(email)
        if email:
            _put(self.emails, email, gid)
        written = record.get("phone")
        # as the identity engine compares it: E.164 read in the record's country, else its
        # e-mail's (t-online.hu), or as written when the number plan does not know the number
        # (an unassigned area code; a national form with no country to read it in)
        phone = (
            phone_key(str(written), record.get("country") or country_of_email(email))
            if written
            else None
        )
        if phone:
            if phone not in self.phones:
                self._phone_tails.setdefault(phone[-6:], []).append(phone)
            _put(self.phones, phone, gid)
        if source_id:
            _put(self.ids, source_id.casefold(), gid)

    @property
    def size(self) -> int:
        return len(self.golden_ids)

    # -- querying --------------------------------------------------------------------------
    def rank(self, query: str, *, cap: int) -> Ranked:
        """Every golden record matching the query (at most `cap`), best first: by score
        descending, then golden id (hub.steward.search merges overlay layers on that order)."""
        text = query.strip()
        if not text:
            return []
        best: dict[str, tuple[float, str]] = {}

        def hit(gid: str, score: float, matched: str) -> None:
            if score > best.get(gid, (-1.0, ""))[0]:
                best[gid] = (score, matched)

        for gid in _owners(self.ids.get(text.casefold())):
            hit(gid, 100.0, f"source id: {text}")
        for gid in _owners(self.keys.get(text.casefold())):  # "system/id", e.g. erp/1001
            hit(gid, 100.0, f"source record: {text}")
        if "@" in text:
            self._email(text, hit)
        if _PHONE_LIKE.match(text):
            self._phone(text, hit)
        folded = fold_words(text)
        # an e-mail is looked up as one (its words as a name matched a million records'
        # "example com" at 1M: 110 ms a query); digits are a phone or an id
        if folded and "@" not in text and not text.replace("+", "").replace(" ", "").isdigit():
            with FUZZY_GATE:
                owners, scores, positions = self._names(folded, cap)
            if not best:  # names only (the common case): ranked in NumPy
                order = np.lexsort((self._gid_rank[owners], -scores))[:cap]
                owners, scores, positions = owners[order], scores[order], positions[order]
            found = zip(owners.tolist(), scores.tolist(), positions.tolist(), strict=True)
            if not best:
                gids, names = self.golden_ids, self.names
                return [(gids[owner], score, f"name: {names[at]}") for owner, score, at in found]
            for owner, score, at in found:
                hit(self.golden_ids[owner], score, f"name: {self.names[at]}")
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:cap]
        return [(gid, score, matched) for gid, (score, matched) in ranked]

    def _email(self, text: str, hit: Callable[[str, float, str], None]) -> None:
        email = normalise_email(text)
        for gid in _owners(self.emails.get(email or "")):
            hit(gid, 100.0, f"email: {email}")
        typed = text.casefold()
        local = typed.partition("@")[0]
        with FUZZY_GATE:
            near = self._near_emails(typed, local)
        for found, score in sorted(near.items(), key=lambda item: -item[1])[:10]:
            for gid in _owners(self.emails[found]):
                hit(gid, score * 0.95, f"email: {found}")

    def _near_emails(self, typed: str, local: str) -> dict[str, float]:
        """The e-mails one typo from the typed one: the best 10 of each bucket hold the best
        10 of both, so no union of two lists of 40,000 e-mails (a common first name at 1M)
        is built per query."""
        near: dict[str, float] = {}
        for bucket in (f"<{local[:3]}", f">{local[-3:]}"):
            for found, score, _ in process.extract(
                typed,
                self._email_buckets.get(bucket, ()),
                scorer=fuzz.ratio,
                limit=10,
                score_cutoff=85,
            ):
                near[found] = float(score)
        return near

    def _phone(self, text: str, hit: Callable[[str, float, str], None]) -> None:
        # the valid numbers the text can be read as; only when there is none, the forms of a
        # number the number plan does not know
        forms = [p for c in _COUNTRIES if (p := normalise_phone(text, c))] or [
            p for c in _COUNTRIES if (p := phone_key(text, c))
        ]
        for phone in dict.fromkeys(forms):
            for gid in _owners(self.phones.get(phone)):
                hit(gid, 100.0, f"phone: {phone}")
        digits = _DIGITS.sub("", text)
        if len(digits) >= 7:  # a national number typed without prefix: match the tail
            tail = digits.lstrip("0")[-9:]
            stored: Iterable[str] = (
                self._phone_tails.get(tail[-6:], ()) if len(tail) >= 6 else self.phones
            )
            for number in stored:
                if number.endswith(tail):
                    for gid in _owners(self.phones[number]):
                        hit(gid, 90.0, f"phone: {number}")

    def _vocabulary_for(self, word: str) -> tuple[str, ...]:
        """Index words a query word may stand for: itself, near spellings, continuations
        (remembered: the index never changes, and common words are asked again and again)."""
        known = self._vocab_cache.get(word)
        if known is not None:
            return known
        found = {word} if word in self._postings else set()
        for match, _, _ in process.extract(
            word, self.vocabulary, scorer=fuzz.ratio, limit=_VOCAB_MATCHES, score_cutoff=70
        ):
            found.add(match)
        if len(word) >= 2:
            start = bisect.bisect_left(self.vocabulary, word)
            for candidate in self.vocabulary[start : start + _PREFIX_MATCHES]:
                if not candidate.startswith(word):
                    break
                found.add(candidate)
        if len(self._vocab_cache) >= _VOCAB_CACHE:
            self._vocab_cache.clear()  # rare: start again rather than track recency
        result = self._vocab_cache[word] = tuple(sorted(found))
        return result

    def shared_words(self, folded: str) -> np.ndarray[Any, np.dtype[np.uint16]] | None:
        """Per spelling, how many words of the query it shares (a word counts once, through
        any of its near tokens); None when no query word is in the vocabulary."""
        shared: np.ndarray[Any, np.dtype[np.uint16]] | None = None
        for word in dict.fromkeys(folded.split()):
            tokens = self._vocabulary_for(word)
            if not tokens:
                continue
            seen = np.zeros(len(self.distinct_names), dtype=np.bool_)
            for token in tokens:
                seen[np.frombuffer(self._postings[token], dtype=np.int32)] = True
            if shared is None:
                shared = seen.view(np.uint8).astype(np.uint16)
            else:
                np.add(shared, seen, out=shared, casting="unsafe")
        return shared

    def _positions(
        self, spellings: np.ndarray[Any, np.dtype[np.intp]]
    ) -> tuple[np.ndarray[Any, np.dtype[np.int32]], np.ndarray[Any, np.dtype[np.intp]]]:
        """The name positions of `spellings` (each spelling's ascending), and for each the
        place in `spellings` of its spelling."""
        starts = self._start[spellings]
        lengths = self._start[spellings + 1] - starts
        place = np.repeat(np.arange(len(spellings)), lengths)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return self._by_spelling[starts[place] + within], place

    def candidates(
        self, folded: str
    ) -> tuple[np.ndarray[Any, np.dtype[np.intp]], np.ndarray[Any, np.dtype[np.uint16]], int, int]:
        """The spellings whose names are candidates, and how the candidates are ordered.

        Candidates are the names sharing a (near) word with the query; past MAX_CANDIDATES
        those sharing most words, and within a count the first by position. Returns the
        candidate spellings (ascending), each one's shared-word count, the `boundary` count
        whose names are taken only up to position `last` (0 and -1 when every name of the
        spellings is a candidate, and then the candidates' order is by position; else by
        count descending, then position)."""
        shared = self.shared_words(folded)
        if shared is None:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint16), 0, -1
        spellings = np.flatnonzero(shared != 0)  # a bool mask: 5x faster than on uint16
        counts = shared[spellings]
        sizes = self._start[spellings + 1] - self._start[spellings]
        if int(sizes.sum()) <= MAX_CANDIDATES:
            return spellings, counts, 0, -1
        room = MAX_CANDIDATES
        for count in range(int(counts.max()), 0, -1):
            at = counts == count
            names = int(sizes[at].sum())
            if names < room:
                room -= names
                continue
            # the boundary count: its first `room` names by position, so the spellings of
            # those (a spelling's first name is its smallest position)
            positions, _ = self._positions(spellings[at])
            last = int(np.partition(positions, room - 1)[room - 1])
            first = self._by_spelling[self._start[spellings]]
            keep = (counts > count) | (at & (first <= last))
            return spellings[keep], counts[keep], count, last
        return spellings, counts, 0, -1  # pragma: no cover - the sizes sum past the cap

    def _holds(self, words: list[str], spellings: _Ints) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """Per spelling, which of the query's first MAX_WORDS words it has exactly (bit j
        for words[j]), from the postings: set over all spellings, read at the candidates."""
        held = np.zeros(len(self.distinct_names), dtype=np.uint8)
        for j, word in enumerate(words[:MAX_WORDS]):
            postings = self._postings.get(word)
            if postings is not None:
                ids = np.frombuffer(postings, dtype=np.int32)
                held[ids] |= np.uint8(1 << j)
        return held[spellings]

    def _names(self, folded: str, cap: int) -> tuple[_Ints, _Floats, _Ints]:
        """The golden records whose names score, each once with its best-scoring name:
        (golden positions, scores, name positions), in the order of the best
        `max(cap * 5, 100)` names as process.extract over every candidate name gives them
        (score descending, then candidate order), a record where its first name stands."""
        nothing = np.empty(0, dtype=np.intp)
        spellings, counts, boundary, last = self.candidates(folded)
        if not len(spellings):
            return nothing, np.empty(0, dtype=np.float64), nothing
        # each distinct spelling scored once with WRatio (token order, partial names and
        # typos) — those whose bound reaches the cut-off; then the names of those that score
        bound, spelling_counts = None, self.spelling_counts
        if PRUNE and spelling_counts is not None and len(spellings) >= PRUNE_FROM:
            patterns = self._holds(query_words(folded), spellings)
            bound = spelling_counts.bound(folded, spellings, patterns)
        scores = wratio_scores(folded, self._spellings[spellings], bound)
        scored = np.flatnonzero(scores >= 75)
        positions, place = self._positions(spellings[scored])
        score, count = scores[scored][place], counts[scored][place]
        if boundary:  # capped: at the boundary count only names up to `last` were candidates
            inside = (count != boundary) | (positions <= last)
            positions, score, count = positions[inside], score[inside], count[inside]
            order = np.lexsort((positions, -count.astype(np.int32), -score))
        else:
            order = np.lexsort((positions, -score))
        order = order[: max(cap * 5, 100)]
        # a record's first name in that order has its best score (the order is by score
        # first): the others would not change its hit
        owners = self._owner[positions[order]]
        _, first = np.unique(owners, return_index=True)
        first.sort()
        chosen = order[first]
        return owners[first].astype(np.intp), score[chosen], positions[chosen].astype(np.intp)
