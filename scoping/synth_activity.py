"""Synthetic activity: normal working days (vectorised, one day at a time), the breach, and the decoys.

Every event is a row of one polars schema (`EVENT_SCHEMA`): the instant in UTC microseconds, the
account, session, address, client, channel (web application or API), an action code, the patients it
names, the outcome, and whether the attacker made it; for a search, the page of results it shows and
the search term it pages through; and how the client wrote the request's path (`variant`: plain, with a
trailing slash, or with a query string). The renderers in `synth_logs` write the rows as the log lines
of each channel; the truth is computed from the attacker rows alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from .synth_world import (
    ATTACK_NET_1,
    ATTACK_NET_2,
    ATTACK_TOOL,
    BREACH_START,
    CARRIER_IP,
    REPLAY_IP,
    REPLAY_START,
    SHUTDOWN,
    SPRAY_START,
    TZ,
    Scenario,
    World,
    baseline_start,
)

# code, canonical action, category, patients named (0 none, 1 one, "n" a list)
CODES: tuple[tuple[str, str, str, str], ...] = (
    ("LOGIN", "login", "administrative", "0"),
    ("LOGIN_FAILED", "login_failed", "administrative", "0"),
    ("LOGOUT", "logout", "administrative", "0"),
    ("SEARCH_PATIENT", "search", "patient_list", "n"),
    ("OPEN_SUMMARY", "view", "full_record", "1"),
    ("OPEN_NOTE", "view", "clinical_note", "1"),
    ("OPEN_PRESCRIPTION", "view", "prescription", "1"),
    ("OPEN_LAB", "view", "lab_result", "1"),
    ("DOWNLOAD_DOC", "download", "document", "1"),
    ("PRINT_RECORD", "print", "full_record", "1"),
    ("EXPORT_LIST", "export", "patient_list", "n"),
    ("EDIT_NOTE", "update", "clinical_note", "1"),
    ("NEW_PRESCRIPTION", "create", "prescription", "1"),
    ("SEND_REMINDER", "share", "contact", "1"),
    ("OPEN_APPOINTMENTS", "view", "appointment", "1"),
    ("OPEN_CONTACT", "view", "contact", "1"),
)
CODE = {c[0]: i for i, c in enumerate(CODES)}
MOBILE_APP = "CareMobile/3.2 (iPhone; iOS 18.1)"

EVENT_SCHEMA: dict[str, Any] = {
    "ts_us": pl.Int64, "account_id": pl.String, "session": pl.String, "ip": pl.String, "ua": pl.String,
    "channel": pl.String, "code": pl.Int32, "patients": pl.List(pl.String), "outcome": pl.String,
    "attacker": pl.Boolean, "kind": pl.String, "page": pl.Int16, "ref": pl.Int32, "variant": pl.Int8,
}
PLAIN, TRAILING_SLASH, QUERY_STRING = 0, 1, 2   # how a client writes a request's path (`variant`)
_VARIANTS_BROWSER = np.array([0.94, 0.03, 0.03])
_VARIANTS_TOOL = np.array([0.70, 0.05, 0.25])   # a scraping script asks for ?fields=all more often
_PAGES = np.array([0.75, 0.18, 0.07])           # how many result pages a search runs over (1, 2, 3)


class Step(NamedTuple):
    """One request of a hand-written session: what it does, the patients it names, whether it worked."""

    code: int
    patients: list[int]
    outcome: str = "success"   # or "failure" (refused: not allowed), "expired" (refused: the session has ended)
    page: int = 0    # the page of search results it shows (1, 2, …), 0 when it is not a search
# what a doctor / secretary does inside a session (codes 3..15), as weights
_DOCTOR_W = np.array([6, 22, 16, 12, 10, 4, 1, 0, 6, 8, 0, 8, 7], dtype=float)
_SECRETARY_W = np.array([14, 10, 0, 0, 0, 3, 4, 0, 0, 0, 1, 30, 38], dtype=float)


def _us(t: datetime) -> int:
    return int(t.astimezone(UTC).timestamp() * 1_000_000)


def _local_midnight_us(day: date) -> int:
    return _us(datetime(day.year, day.month, day.day, tzinfo=TZ))


@dataclass
class Activity:
    world: World
    sc: Scenario
    seed: int

    def days(self) -> list[date]:
        start = baseline_start(self.sc)
        return [start + timedelta(days=i) for i in range((SHUTDOWN.date() - start).days + 1)]

    @cached_property
    def first_workday(self) -> date:
        """The first weekday of the baseline: every account shows its usual clients and home address that day."""
        return next(d for d in self.days() if d.weekday() < 5)

    # -- normal work ---------------------------------------------------------------------------
    def normal_day(self, day: date) -> pl.DataFrame:
        """All ordinary sessions of one day, vectorised over accounts, sessions and events."""
        rng = np.random.default_rng([self.seed, day.toordinal()])
        if day.weekday() >= 5:
            return _empty()
        acc = self.world.accounts.filter(pl.col("account_id") != self.world.departed)
        n_acc = acc.height
        roles = acc["role"].to_numpy()
        per_acc = np.where(roles == "doctor", 3, 2)
        sess_acc = np.repeat(np.arange(n_acc), per_acc)
        slot = np.concatenate([np.arange(k) for k in per_acc])
        starts_h = np.where(roles[sess_acc] == "doctor", np.array([8.5, 13.5, 17.0])[np.minimum(slot, 2)],
                            np.array([8.0, 14.0, 14.0])[np.minimum(slot, 2)])
        midnight = _local_midnight_us(day)
        jitter = rng.integers(0, 40 * 60, sess_acc.size)
        start_us = midnight + (starts_h * 3600).astype(np.int64) * 1_000_000 + jitter.astype(np.int64) * 1_000_000
        # (clocks change on a Sunday at night, when nobody works: local midnight + hours is exact on weekdays)
        home_ip = acc["home_ip"].to_numpy()[sess_acc]
        from_home = (home_ip != "") & (slot == per_acc[sess_acc] - 1) & (
            (rng.random(sess_acc.size) < 0.3) | (day == self.first_workday))
        ips = np.where(from_home, home_ip, acc["ip"].to_numpy()[sess_acc])
        # everyone uses the mobile app now and then; on the first day at least once, so every client an
        # owner uses during the breach is in the owner's baseline
        mobile = (rng.random(sess_acc.size) < 0.12) | ((day == self.first_workday) & (slot == 0))
        uas = np.where(mobile, MOBILE_APP, acc["ua"].to_numpy()[sess_acc])
        # the mobile app and the new web client call the API gateway; the older web pages are audited by
        # the web application itself
        new_client = rng.random(sess_acc.size) < 0.15
        channel = np.where(mobile | new_client, "api", "web")
        k = rng.integers(4, 13, sess_acc.size)
        n_ev = int(k.sum())
        ev_sess = np.repeat(np.arange(sess_acc.size), k)
        first = np.repeat(np.cumsum(k) - k, k)
        pos = np.arange(n_ev) - first
        gaps = rng.integers(40, 300, n_ev).astype(np.int64) * 1_000_000 + rng.integers(0, 1000, n_ev) * 1000
        gaps[pos == 0] = 0
        offs = np.cumsum(gaps)
        offs = offs - np.repeat(offs[np.cumsum(k) - k], k)
        ts = start_us[ev_sess] + offs
        is_doc = roles[sess_acc[ev_sess]] == "doctor"
        pd_ = _DOCTOR_W / _DOCTOR_W.sum()
        ps_ = _SECRETARY_W / _SECRETARY_W.sum()
        code = np.where(is_doc, 3 + rng.choice(13, n_ev, p=pd_), 3 + rng.choice(13, n_ev, p=ps_))
        code[pos == 0] = CODE["LOGIN"]
        code[pos == np.repeat(k, k) - 1] = CODE["LOGOUT"]
        # a search may run over several result pages: each page is an event of its own, seconds after the
        # previous one, naming its own patients (the last page may be short)
        n_pages = np.where(code == CODE["SEARCH_PATIENT"], 1 + rng.choice(3, n_ev, p=_PAGES), 1)
        r = np.repeat(np.arange(n_ev), n_pages)
        group = np.repeat(np.cumsum(n_pages) - n_pages, n_pages)
        page = np.arange(r.size) - group + 1
        lag = rng.integers(4, 15, r.size).astype(np.int64) * 1_000_000 + rng.integers(0, 1000, r.size) * 1000
        lag[page == 1] = 0
        lag = np.cumsum(lag)
        lag = lag - lag[group]
        code_r = code[r]
        is_search = code_r == CODE["SEARCH_PATIENT"]
        ppp = self.sc.patients_per_practice
        pr_no = acc["practice_no"].to_numpy()[sess_acc[ev_sess[r]]]
        pats = pr_no[:, None] * ppp + rng.integers(0, ppp, (r.size, 5))
        n_named = np.where(np.isin(code_r, [CODE["SEARCH_PATIENT"], CODE["EXPORT_LIST"]]), 5,
                           np.where(np.isin(code_r, [0, 1, 2]), 0, 1))
        short_last = is_search & (page > 1) & (page == n_pages[r])
        n_named = np.where(short_last, rng.integers(1, 6, r.size), n_named)
        term = rng.integers(0, 97, n_ev)[r]
        variant = rng.choice(3, r.size, p=_VARIANTS_BROWSER)
        sess_id = np.char.add("s", rng.integers(16**7, 16**8, sess_acc.size).astype(str))
        sr = ev_sess[r]
        df = pl.DataFrame({
            "ts_us": (ts[r] + lag).astype(np.int64) // 1000 * 1000,
            "account_id": acc["account_id"].to_numpy()[sess_acc[sr]],
            "session": np.char.add(sess_id[sr], np.char.add("-", day.strftime("%m%d"))),
            "ip": ips[sr], "ua": uas[sr], "channel": channel[sr],
            "code": code_r.astype(np.int32),
            "pat": pats, "n_named": n_named,
            "page": np.where(is_search, page, 0).astype(np.int16),
            "ref": np.where(is_search, term, 0).astype(np.int32),
            "variant": variant.astype(np.int8),
        })
        return _finish(df, kind="normal")

    # -- the breach ------------------------------------------------------------------------------
    def breach(self) -> pl.DataFrame:
        rng = np.random.default_rng([self.seed, 99])
        parts = [self._phase1(rng), self._spray_and_takeovers(rng), self._decoys(rng)]
        if self.world.replayed:   # its own generator: the flag changes nothing else in the world
            taken = pl.concat(parts).filter(pl.col("attacker")).select(pl.col("patients").explode()).drop_nulls()
            parts.append(self._replayed_session({int(p[1:]) - 1 for p in taken["patients"].to_list()}))
        return pl.concat([p for p in parts if p.height], how="vertical").sort("ts_us", "account_id", "session")

    def _session(self, rng: np.random.Generator, *, account: str, start: datetime, ip: str, ua: str,
                 channel: str, steps: list[Step], attacker: bool, kind: str,
                 gap: tuple[int, int] = (3, 25), session: str | None = None,
                 times: np.ndarray | None = None) -> pl.DataFrame:
        """One session from a list of steps, seconds apart (or at the given instants)."""
        n = len(steps)
        gaps = rng.integers(gap[0], gap[1], n).astype(np.int64) * 1_000_000 + rng.integers(0, 1000, n) * 1000
        gaps[0] = 0
        ts = _us(start) + np.cumsum(gaps) if times is None else times
        sid = session or f"x{rng.integers(16**7, 16**8):x}"
        weights = _VARIANTS_TOOL if ua == ATTACK_TOOL else _VARIANTS_BROWSER
        variant = rng.choice(3, n, p=weights)
        terms = rng.integers(0, 97, n)
        page = np.array([s.page for s in steps], dtype=np.int16)
        term = terms[np.maximum.accumulate(np.where(page == 1, np.arange(n), 0))]  # the term of the page-1 step
        return pl.DataFrame({
            "ts_us": ts // 1000 * 1000, "account_id": [account] * n, "session": [sid] * n,
            "ip": [ip] * n, "ua": [ua] * n, "channel": [channel] * n,
            "code": np.array([s.code for s in steps], dtype=np.int32),
            "patients": [[f"P{p + 1:07d}" for p in s.patients] for s in steps],
            "outcome": [s.outcome for s in steps], "attacker": [attacker] * n, "kind": [kind] * n,
            "page": page, "ref": np.where(page > 0, term, 0).astype(np.int32), "variant": variant.astype(np.int8),
        }, schema=EVENT_SCHEMA)

    def _attack_steps(self, rng: np.random.Generator, targets: np.ndarray, pool: np.ndarray,
                      *, modify: int = 0, export_every: int = 25, logged_in: bool = False) -> list[Step]:
        """Search, open, read, download, now and then edit, and export what was opened. `pool` is where the
        other patients of a search's result pages come from. A session already logged in (a replayed
        cookie) neither logs in nor out."""
        steps: list[Step] = [] if logged_in else [Step(CODE["LOGIN"], [])]
        opened: list[int] = []
        for i, p in enumerate(targets.tolist()):
            if rng.random() < 0.3:   # a search whose first page names the target and four others
                pages = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
                for page in range(1, pages + 1):
                    others = pool[rng.integers(0, pool.size, 4 if page == 1 else 5)].tolist()
                    steps.append(Step(CODE["SEARCH_PATIENT"], ([p] if page == 1 else []) + others, page=page))
            denied = rng.random() < self.sc.denied_share
            steps.append(Step(CODE["OPEN_SUMMARY"], [p], "failure" if denied else "success"))
            if denied:
                continue
            opened.append(p)
            for code, share in (("OPEN_NOTE", 0.5), ("OPEN_LAB", 0.3), ("OPEN_PRESCRIPTION", 0.3),
                                ("DOWNLOAD_DOC", 0.2)):
                if rng.random() < share:
                    steps.append(Step(CODE[code], [p]))
            if i < modify:
                steps.append(Step(CODE["EDIT_NOTE"], [p]))
            if len(opened) >= export_every:
                steps.append(Step(CODE["EXPORT_LIST"], opened[:]))
                opened = []
        if not logged_in:
            steps.append(Step(CODE["LOGOUT"], []))
        return steps

    def _phase1(self, rng: np.random.Generator) -> pl.DataFrame:
        """The departed doctor's account, from unfamiliar addresses, across many practices."""
        w = self.world
        n_pat = self.sc.practices * self.sc.patients_per_practice
        targets = rng.choice(n_pat, self.sc.phase1_patients, replace=False)
        chunks = np.array_split(targets, max(2, len(targets) // 60))
        frames = []
        t = BREACH_START + timedelta(minutes=7)
        for i, chunk in enumerate(chunks):
            web = i == 1   # one session through the web application, with an ordinary browser
            steps = self._attack_steps(rng, chunk, np.arange(n_pat), modify=2 if i == 0 else 0)
            frames.append(self._session(
                rng, account=w.departed, start=t, ip=f"{ATTACK_NET_1}.{10 + i}",
                ua=("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/139.0 Safari/537.36") if web else ATTACK_TOOL,
                channel="web" if web else "api", steps=steps, attacker=True, kind="attack_departed"))
            t = datetime.fromtimestamp(float(frames[-1]["ts_us"].to_numpy().max()) / 1e6, UTC) + timedelta(minutes=35)
        return pl.concat(frames)

    def _spray_and_takeovers(self, rng: np.random.Generator) -> pl.DataFrame:
        w = self.world
        n_pat = self.sc.practices * self.sc.patients_per_practice
        accounts = w.accounts.filter(pl.col("account_id") != w.departed)["account_id"].to_list()
        sprayed = sorted(set(rng.choice(accounts, min(len(accounts), 40), replace=False).tolist())
                         | set(w.takeovers))
        frames = []
        t = SPRAY_START
        spray_ip = f"{ATTACK_NET_2}.10"
        for a in sprayed:   # two failed guesses per account, seconds apart, from one address
            for _ in range(2):
                frames.append(self._session(rng, account=a, start=t, ip=spray_ip, ua=ATTACK_TOOL, channel="api",
                                            steps=[Step(CODE["LOGIN_FAILED"], [], "failure")], attacker=True,
                                            kind="spray"))
                t += timedelta(seconds=int(rng.integers(2, 9)))
        for a in w.takeovers:   # the guesses that worked: a successful login from the spraying address
            frames.append(self._session(rng, account=a, start=t, ip=spray_ip, ua=ATTACK_TOOL, channel="api",
                                        steps=[Step(CODE["LOGIN"], []), Step(CODE["LOGOUT"], [])],
                                        attacker=True, kind="spray"))
            t += timedelta(seconds=int(rng.integers(2, 9)))
        for i, a in enumerate(w.takeovers):
            start = t + timedelta(minutes=5 + 3 * i)
            targets = rng.choice(n_pat, self.sc.phase2_patients_per_account, replace=False)
            steps = self._attack_steps(rng, targets, np.arange(n_pat), modify=1 if i == 0 else 0, export_every=40)
            frames.append(self._session(rng, account=a, start=start, ip=f"{ATTACK_NET_2}.{20 + i}", ua=ATTACK_TOOL,
                                        channel="api", steps=steps, attacker=True, kind="attack_takeover"))
        acc = w.accounts.filter(pl.col("account_id") == w.interleaved).row(0, named=True)
        ppp = self.sc.patients_per_practice
        own = acc["practice_no"] * ppp + rng.choice(ppp, 12, replace=False)
        # the real owner keeps working from the practice, same hours, usual browser
        owner_steps: list[Step] = [Step(CODE["LOGIN"], [])] + [
            Step(CODE[c], [int(p)]) for p in own for c in ("OPEN_SUMMARY", "OPEN_NOTE")] + [
            Step(CODE["LOGOUT"], [])]
        frames.append(self._session(rng, account=w.interleaved, start=SPRAY_START - timedelta(minutes=20),
                                    ip=acc["ip"], ua=acc["ua"], channel="web", steps=owner_steps, attacker=False,
                                    kind="owner_during_breach", gap=(60, 240)))
        # later, the attacker on the same account from a carrier address with the owner's very browser
        targets = rng.choice(n_pat, 10, replace=False)
        steps = [Step(CODE["LOGIN"], [])] + [Step(CODE["OPEN_SUMMARY"], [int(p)]) for p in targets] + [
            Step(CODE["LOGOUT"], [])]
        frames.append(self._session(rng, account=w.interleaved, start=SPRAY_START + timedelta(hours=2, minutes=30),
                                    ip=CARRIER_IP, ua=acc["ua"], channel="web", steps=steps, attacker=True,
                                    kind="attack_same_browser"))
        return pl.concat(frames)

    def _replayed_session(self, taken: set[int]) -> pl.DataFrame:
        """A session cookie stolen from a doctor's browser (an infostealer) and replayed by the attacker.

        The doctor logs in from the practice with her usual browser and works on her own patients through
        the API for about an hour. Meanwhile the attacker sends requests in that very session: same
        session id, the doctor's own browser string, from an address the account never used, in three
        bursts between the doctor's requests, on patients the doctor's practice does not know (search result
        pages, records,
        notes, labs, documents). The attacker never logs in or out; one last request after the doctor has
        logged out is refused (401). The doctor's patients of that session are not in the truth: nobody
        but the doctor touched them (`taken`, every patient an attacker named elsewhere, is avoided on both
        sides, so each patient of this session is there for this session alone).
        """
        w = self.world
        assert w.replayed is not None
        rng = np.random.default_rng([self.seed, 17])
        acc = w.accounts.filter(pl.col("account_id") == w.replayed).row(0, named=True)
        ppp = self.sc.patients_per_practice
        n_pat = self.sc.practices * ppp
        mine = np.arange(acc["practice_no"] * ppp, (acc["practice_no"] + 1) * ppp)
        used = np.fromiter(taken, dtype=np.int64, count=len(taken))
        own = rng.choice(np.setdiff1d(mine, used), 12, replace=False)
        owner_steps = [Step(CODE["LOGIN"], [])]
        for p in own.tolist():
            owner_steps.append(Step(CODE["OPEN_SUMMARY"], [p]))
            for code, share in (("OPEN_NOTE", 0.6), ("OPEN_LAB", 0.3), ("EDIT_NOTE", 0.2)):
                if rng.random() < share:
                    owner_steps.append(Step(CODE[code], [p]))
        owner_steps.append(Step(CODE["LOGOUT"], []))
        sid = f"s{rng.integers(16**7, 16**8)}-{REPLAY_START:%m%d}"
        owner = self._session(rng, account=w.replayed, start=REPLAY_START, ip=acc["ip"], ua=acc["ua"],
                              channel="api", steps=owner_steps, attacker=False, kind="owner_replayed_session",
                              gap=(40, 240), session=sid)
        owner_ts = owner["ts_us"].to_numpy()
        t0, t1 = int(owner_ts.min()), int(owner_ts.max())   # the doctor's login and logout
        registered = w.patients.filter(pl.col("practice_id") == acc["practice_id"])["patient_id"]   # 2nd practices too
        ours = np.array([int(p[1:]) - 1 for p in registered.to_list()], dtype=np.int64)
        elsewhere = np.setdiff1d(np.arange(n_pat), np.concatenate([mine, ours, used]))
        targets = rng.choice(elsewhere, 20, replace=False)
        steps = self._attack_steps(rng, targets, elsewhere, logged_in=True)
        # three bursts, each inside its third of the doctor's session, seconds between requests
        lo, hi = t0 + 6 * 60_000_000, t1 - 2 * 60_000_000
        third = (hi - lo) // 3
        times = np.zeros(len(steps), dtype=np.int64)
        for j, chunk in enumerate(np.array_split(np.arange(len(steps)), 3)):
            rel = np.cumsum(rng.integers(3, 25, chunk.size).astype(np.int64) * 1_000_000
                            + rng.integers(0, 1000, chunk.size) * 1000)
            rel -= rel[0]
            times[chunk] = lo + j * third + int(rng.integers(0, max(third - int(rel[-1]), 1))) + rel
        named = {p for s in steps for p in s.patients}
        late = int(rng.choice(np.setdiff1d(elsewhere, np.fromiter(named, dtype=np.int64, count=len(named)))))
        steps.append(Step(CODE["OPEN_SUMMARY"], [late], "expired"))   # the cookie died with the logout
        times = np.append(times, t1 + int(rng.integers(20, 90)) * 1_000_000)
        attacker = self._session(rng, account=w.replayed, start=REPLAY_START, ip=REPLAY_IP, ua=acc["ua"],
                                 channel="api", steps=steps, attacker=True, kind="attack_replayed_session",
                                 session=sid, times=times)
        return pl.concat([owner, attacker])

    def _decoys(self, rng: np.random.Generator) -> pl.DataFrame:
        w = self.world
        ppp = self.sc.patients_per_practice
        frames = []
        for account, kind in sorted(w.decoys.items()):
            acc = w.accounts.filter(pl.col("account_id") == account).row(0, named=True)
            base = acc["practice_no"] * ppp
            if kind == "bulk_reminders":  # a secretary reminding every patient of her practice
                steps = [Step(CODE["LOGIN"], [])] + [
                    Step(CODE["SEND_REMINDER"], [base + i]) for i in range(ppp)] + [
                    Step(CODE["LOGOUT"], [])]
                frames.append(self._session(rng, account=account, start=datetime(2025, 11, 11, 10, 5, tzinfo=TZ),
                                            ip=acc["ip"], ua=acc["ua"], channel="web", steps=steps, attacker=False,
                                            kind="decoy_bulk", gap=(1, 4)))
            elif kind == "night_on_call":  # nights from home, one inside the DST overlap of 26 October
                nights = [datetime(2025, 10, 19, 2, 10, tzinfo=TZ), datetime(2025, 10, 26, 2, 15, tzinfo=TZ, fold=0),
                          datetime(2025, 11, 2, 2, 10, tzinfo=TZ), datetime(2025, 11, 11, 2, 10, tzinfo=TZ)]
                for night in nights:
                    pats = base + rng.choice(ppp, 4, replace=False)
                    steps = [Step(CODE["LOGIN"], [])] + [
                        Step(CODE["OPEN_SUMMARY"], [int(p)]) for p in pats] + [Step(CODE["LOGOUT"], [])]
                    frames.append(self._session(rng, account=account, start=night, ip=acc["home_ip"], ua=acc["ua"],
                                                channel="web", steps=steps, attacker=False, kind="decoy_night",
                                                gap=(30, 90)))
            else:  # a doctor whose phone shares the attacker's carrier address
                days = [date(2025, 10, 14) + timedelta(days=7 * i) for i in range(4)] + [date(2025, 11, 12)]
                for d in days:
                    pats = base + rng.choice(ppp, 3, replace=False)
                    steps = [Step(CODE["LOGIN"], [])] + [
                        Step(CODE["OPEN_SUMMARY"], [int(p)]) for p in pats] + [Step(CODE["LOGOUT"], [])]
                    frames.append(self._session(rng, account=account, start=datetime(d.year, d.month, d.day, 21, 40,
                                                                                     tzinfo=TZ),
                                                ip=CARRIER_IP, ua=MOBILE_APP, channel="api", steps=steps,
                                                attacker=False, kind="decoy_carrier", gap=(20, 80)))
        return pl.concat(frames)

    def stream(self) -> Iterator[pl.DataFrame]:
        """Every event of the world, one day at a time, in time order, ending at the shutdown."""
        breach = self.breach()
        stop = _us(SHUTDOWN)
        for day in self.days():
            lo, hi = _local_midnight_us(day), _local_midnight_us(day + timedelta(days=1))
            parts = [self.normal_day(day), breach.filter((pl.col("ts_us") >= lo) & (pl.col("ts_us") < hi))]
            df = pl.concat([p for p in parts if p.height], how="vertical") if any(p.height for p in parts) else _empty()
            df = df.filter(pl.col("ts_us") < stop).sort("ts_us", "account_id", "session", "code")
            if df.height:
                yield df


def _finish(df: pl.DataFrame, *, kind: str) -> pl.DataFrame:
    pats = df["pat"].to_numpy()
    n_named = df["n_named"].to_numpy()
    cols = {f"p{i}": pats[:, i] + 1 for i in range(pats.shape[1])}
    names = pl.DataFrame({**cols, "n": n_named}).select(
        pl.concat_list([pl.format("P{}", pl.col(f"p{i}").cast(pl.String).str.zfill(7)) for i in range(pats.shape[1])])
        .list.head(pl.col("n")).alias("patients"))
    return df.drop("pat", "n_named").with_columns(
        names["patients"],
        pl.lit("success").alias("outcome"), pl.lit(False).alias("attacker"), pl.lit(kind).alias("kind"),
    ).select(list(EVENT_SCHEMA))


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)
