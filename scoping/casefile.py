"""The commented case.toml that `scoping init` writes: every key a new user needs, explained."""

TEMPLATE = '''\
# scoping case file. Paths are relative to this folder. Times: ISO 8601.
# Fill in [sources.*], [reference.*] and [incident], then run:
#   scoping ingest CASE     (load the logs)      scoping discover CASE   (find suspect accounts)
#   scoping scope CASE      (the lists)          scoping report CASE     (report.html)

[case]
name = "New case"
# memory_limit = "2GB"          # DuckDB memory cap; larger work spills to .duckdb-tmp/
# max_temp_directory_size = "50GB"  # cap on that spill folder
# session_gap_minutes = 30      # derived sessions: same account, address and client, gap under this

# ---------------------------------------------------------------------------------------------
# A source: a set of log files in one format, and how its fields map onto scoping's columns.
# formats: csv, tsv, jsonl (plain or .gz, nested fields as a.b.c), parquet, fhir, openemr
# ---------------------------------------------------------------------------------------------
# [sources.webapp]
# format = "csv"
# files = ["logs/webapp-*.csv"]          # one evidence file per match
# delimiter = ","                         # header = true by default; else column_names = [...]
# ts_format = "%Y-%m-%d %H:%M:%S"         # iso8601 | epoch_s | epoch_ms | a strptime format
# timezone = "Europe/Paris"               # REQUIRED when the timestamps carry no UTC offset
# patient_separator = ";"                 # a field listing several patients (an export of a list)
# null_values = ["", "-", "0"]            # values meaning "nothing here"
#
# [sources.webapp.columns]                # canonical column = field of the file
# event_key = "log_id"                    # the log's own id; omit to use a hash of the raw line
# ts = "timestamp"
# account_id = "user"
# session_id = "session"
# src_ip = "ip"
# user_agent = "ua"
# action = "action"
# category = "category"
# patient_id = "patient"
# outcome = "result"
#
# [sources.webapp.expressions]            # a column computed from fields written {name} (scalar SQL only)
# account_id = "lower(trim({user}))"
#
# [sources.webapp.maps.action]            # raw value = canonical value
# VIEW = "view"
# PRINT = "print"
#
# A REST log: ordered rules with regular expressions; named groups capture columns; for each
# column the first rule that sets or captures it wins.
# [[sources.gateway.rules]]
# name = "open a patient's notes"
# when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/]+)/notes" }
# set = { action = "view", category = "clinical_note" }

# ---------------------------------------------------------------------------------------------
# Reference tables (CSV or Parquet). Column names default to the canonical ones.
# ---------------------------------------------------------------------------------------------
# [reference.accounts]                    # account_id, practice_id, role, active_from, active_until
# file = "reference/accounts.csv"
# timezone = "Europe/Paris"               # for dates written without an offset
# [reference.patients]                    # patient_id, practice_id: one row per patient and controller
# file = "reference/patients.csv"
# [reference.care]                        # patient_id, practice_id or account_id, kind, start, end
# file = "reference/care.csv"

# ---------------------------------------------------------------------------------------------
# The incident: half-open windows [start, end) written in `timezone`, stored in UTC.
# ---------------------------------------------------------------------------------------------
# [incident]
# name = "Breach of November 2025"
# timezone = "Europe/Paris"
# windows = [["2025-11-10 18:00", "2025-11-14 09:00"]]
# compromised_accounts = ["dr.martin"]
# count_undetermined = true               # undetermined sessions count as affected (when in doubt, tell)
# [incident.indicators]
# ips = ["203.0.113.7", "198.51.100.0/24"]
# user_agents = ["python-requests/*"]
#
# An analyst's decision overrules the rules for one segment (or a whole session), with its justification:
# the report, sessions.csv and the manifest carry it. Keys are in sessions.csv (segment_key, session_key).
# [[incident.decisions]]
# segment = "log:8f3a…/1f2e3d4c"          # or: session = "log:8f3a…"
# verdict = "owner"                       # attacker | owner | undetermined
# justification = "the holder confirmed this connection from the hospital's guest Wi-Fi (call of 14 Nov)"
# by = "J. Martin, DPO"

# ---------------------------------------------------------------------------------------------
# Notification kits (`scoping notify`): what the letters say about the processor and the contacts.
# ---------------------------------------------------------------------------------------------
# [notify]
# processor = "the vendor of the medical-records service"
# contact = "the practice's secretariat, 01 23 45 67 89"
# authority = "www.cnil.fr"
# measures = "the accounts used were disabled and every password reset"
# signature = "Dr …"
# wording_dir = "wording"                 # the case's own wording_<lang>.toml / letter_<lang>.md (override key by key)
# contact_columns = ["address", "email", "phone"]   # directory columns that reach a patient (default: all but
#                                                   # patient_id and identity columns such as name, birth_date)
'''
