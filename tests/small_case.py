"""A small hand-made case for the notification kits: one patient per situation a letter must tell apart.

drX (a departed doctor of another practice, P9) is the attacker; drY (an account of P1) opens U's record from an
address never seen for it with its usual client: an undetermined segment, counted by default; V is opened by both.
Practice P3 has one patient, Q, whom the attacker only tried to reach.
"""

from __future__ import annotations

from pathlib import Path

from scoping import Case

LOG = """id,t,u,a,p,r,ip,ua
1,2025-11-10 19:00:00,drX,SEARCH,A;I;R,OK,,
2,2025-11-10 19:05:00,drX,NOTE,B,OK,,
3,2025-11-10 19:10:00,drX,DOC,C,OK,,
4,2025-11-10 19:15:00,drX,NOTE,D,OK,,
5,2025-11-10 19:16:00,drX,EDIT,D,OK,,
6,2025-11-10 19:20:00,drX,NOTE,E,OK,,
7,2025-11-10 19:22:00,drX,LAB,E,OK,,
8,2025-11-10 19:25:00,drX,RX,E,OK,,
9,2025-11-10 23:50:00,drX,NOTE,F,OK,,
10,2025-11-11 00:20:00,drX,LAB,F,OK,,
11,2025-10-26 01:30:00,drX,NOTE,G,OK,,
12,2025-10-26 12:00:00,drX,NOTE,G,OK,,
13,2025-11-10 19:30:00,drX,NOTE,H,DENIED,,
14,2025-11-10 19:31:00,drX,PRINT,M,OK,,
15,2025-11-10 19:32:00,drX,EXPORT,M;B;L,OK,,
16,2025-11-10 19:45:00,drX,NOTE,I,OK,,
17,2025-11-10 19:50:00,drX,NEWRX,K,OK,,
18,2025-11-10 19:55:00,drX,NOTE,N,OK,,
19,2025-11-10 19:56:00,drX,LAB,N,OK,,
20,2025-11-10 19:57:00,drX,DOC,N,OK,,
21,2025-11-10 19:58:00,drX,NOTE,R,DENIED,,
22,2025-10-01 10:00:00,drY,NOTE,Z,OK,10.0.0.1,Firefox
23,2025-11-10 20:00:00,drY,NOTE,U,OK,10.0.0.9,Firefox
24,2025-11-10 20:05:00,drX,NOTE,Q,DENIED,,
25,2025-11-10 19:40:00,drX,NOTE,V,OK,,
26,2025-11-10 20:01:00,drY,NOTE,V,OK,10.0.0.9,Firefox
"""
SOURCE = """
[sources.app]
format = "csv"
files = ["log.csv"]
ts_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
patient_separator = ";"
[sources.app.columns]
event_key = "id"
ts = "t"
account_id = "u"
action = "a"
category = "a"
patient_id = "p"
outcome = "r"
src_ip = "ip"
user_agent = "ua"
[sources.app.maps.action]
SEARCH = "search"
NOTE = "view"
LAB = "view"
RX = "view"
DOC = "download"
EDIT = "update"
PRINT = "print"
EXPORT = "export"
NEWRX = "create"
[sources.app.maps.category]
SEARCH = "patient_list"
NOTE = "clinical_note"
LAB = "lab_result"
RX = "prescription"
DOC = "document"
EDIT = "clinical_note"
PRINT = "full_record"
EXPORT = "patient_list"
NEWRX = "prescription"
[sources.app.maps.outcome]
OK = "success"
DENIED = "failure"
[reference.accounts]
file = "accounts.csv"
timezone = "Europe/Paris"
[reference.patients]
file = "patients.csv"
[incident]
name = "test"
timezone = "Europe/Paris"
windows = [["2025-10-25 00:00", "2025-11-12 00:00"]]
compromised_accounts = ["drX", "drY"]
"""
PATIENTS = ("patient_id,practice_id\nA,P1\nB,P1\nC,P1\nD,P1\nE,P1\nF,P1\nG,P2\nH,P2\nM,P2\nM,P1\nI,P1\nK,P1\n"
            "L,P1\nN,P1\nR,P1\nU,P1\nV,P1\nZ,P1\nQ,P3\n")
ACCOUNTS = "account_id,practice_id,active_until\ndrX,P9,2025-01-01\ndrY,P1,\n"


def build(folder: Path, *, extra_toml: str = "", source: str = SOURCE, log: str = LOG) -> Case:
    """Write the case into `folder` (case.toml: `source` then `extra_toml`), ingest it and return the open case."""
    (folder / "log.csv").write_text(log)
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "patients.csv").write_text(PATIENTS)
    (folder / "case.toml").write_text(source + extra_toml)
    case = Case.open(folder)
    case.ingest(progress=False)
    return case
