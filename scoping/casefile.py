"""The commented case.toml that `scoping init` writes: every key case.toml accepts, explained.

Every table and key here is one of `scoping.caseschema.TABLES`, and every key there appears here
(tests/test_config.py checks both ways).
"""

TEMPLATE = '''\
# scoping case file. Paths are relative to this folder. Times: ISO 8601.
# Fill in the sources, the reference tables and the incident, then run:
#   scoping ingest CASE --dry-run   (try the mappings)  scoping ingest CASE     (load the logs)
#   scoping discover CASE           (suspect accounts)   scoping scope CASE      (the lists)
#   scoping report CASE             (report.html)
# An unknown key is an error (a typo would otherwise be ignored): the keys below are all there are.

[case]
name = "New case"
# memory_limit = "2GB"          # DuckDB memory cap; larger work spills to .duckdb-tmp/
# max_temp_directory_size = "50GB"  # cap on that spill folder
# threads = 4                   # DuckDB threads (default: every core)
# session_gap_minutes = 30      # derived sessions: same account, address and client, gap under this
# max_quarantined_share = 0.5   # a file with more quarantined lines than this fails the ingest (a wrong mapping)
# max_line_bytes = "16MiB"      # a longer line is quarantined by its first 2 KB and its length
# lake = "lake"                 # the canonical tables as a Parquet lake (events/day=YYYY-MM-DD/): `scoping ingest`
#                               # writes it, every stage reads it (a folder, or a URI DuckDB reads, e.g. s3://…)
# lake_filesystem = "duckdb"    # who reads a lake URI: DuckDB's extensions (httpfs for s3://, installed beforehand),
#                               # or "fsspec": the Python file system of its scheme (pip install s3fs, gcsfs, adlfs)
# engine = "duckdb"             # or "spark": the scans of the whole lake run on Apache Spark (pip install
#                               # "scoping[spark]" and Java 17); needs lake

# ---------------------------------------------------------------------------------------------
# A source: a set of log files in one format, and how its fields map onto scoping's columns.
# formats: csv, tsv, jsonl (plain or .gz, nested fields as a.b.c), parquet, fhir, openemr
# ---------------------------------------------------------------------------------------------
# [sources.webapp]
# format = "csv"
# files = ["logs/webapp-*.csv"]          # one evidence file per match; every glob must match a file
# delimiter = ","                         # csv/tsv: field delimiter
# quote = '"'                             # csv/tsv: quote character
# header = true                           # csv/tsv: the first line names the fields
# column_names = ["id", "time", "user"]   # csv/tsv with header = false: the field names
# ts_format = "%Y-%m-%d %H:%M:%S"         # iso8601 | epoch_s | epoch_ms | a strptime format
# timezone = "Europe/Paris"               # REQUIRED when the timestamps carry no UTC offset
# patient_separator = ";"                 # a field listing several patients (an export of a list)
# null_values = ["", "-", "0"]            # values meaning "nothing here"
# follow_symlinks = false                 # links leading outside the case folder are refused unless true
# max_quarantined_share = 0.9             # this source may have more quarantined lines than [case] allows
#
# [sources.webapp.columns]                # canonical column = field of the file
# event_key = "log_id"                    # the log's own id; omit to use a hash of the record
# ts = "timestamp"
# account_id = "user"
# session_id = "session"
# src_ip = "ip"                           # stored normalised (no port, IPv4-mapped IPv6 unwrapped)
# user_agent = "ua"
# action = "action"
# action_raw = "event"                    # the logged action, when action is derived from it
# category = "category"
# patient_id = "patient"                  # a JSON array of ids is a list: one access per patient
# outcome = "result"
# resource_type = "object"
# resource_id = "object_id"
#
# [sources.webapp.constants]              # canonical column = fixed value
# outcome = "success"
#
# [sources.webapp.expressions]            # canonical column = one scalar SQL value over {fields}
# account_id = "lower(trim({user}))"      # any column, ts and event_key included:
# ts = "{date} || ' ' || {offset}"        #   time and offset in two fields, with ts_format "%Y-%m-%d %H:%M:%S %z"
#
# [sources.webapp.maps.action]            # raw value = canonical value (also maps.category, maps.outcome, ...)
# VIEW = "view"
# PRINT = "print"
#
# A REST log: ordered rules with regular expressions; named groups capture columns (a capture is one value,
# never split); for each column the first rule that sets or captures it wins.
# [[sources.gateway.rules]]
# name = "open a patient's notes"
# when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?#]+)/notes/?([?#].*)?$" }
# set = { action = "view", category = "clinical_note" }
# link = "url path"                       # patient_link of a captured patient (default rule:<name>)
#
# Standard formats need no mapping:
# [sources.audit]
# format = "fhir"                         # FHIR AuditEvent (R4, R5, IHE BALP): NDJSON (gzip or not) or a Bundle
# files = ["logs/audit-*.ndjson.gz"]
# [sources.emr]
# format = "openemr"                      # OpenEMR's `log` table exported to CSV
# files = ["openemr/log.csv"]
# api_log = "openemr/api_log.csv"         # its `api_log` export, joined on log_id
# timezone = "America/New_York"           # OpenEMR writes local times without an offset: REQUIRED

# ---------------------------------------------------------------------------------------------
# Reference tables (CSV or Parquet). Column names default to the canonical ones.
# ---------------------------------------------------------------------------------------------
# [reference.accounts]                    # account_id, practice_id, role, active_from, active_until
# file = "reference/accounts.csv"
# delimiter = ","
# timezone = "Europe/Paris"               # REQUIRED when dates are written without an offset
# [reference.accounts.columns]            # canonical column = column of the file
# account_id = "login"
# practice_id = "practice"
# role = "role"
# active_from = "created"
# active_until = "left"
# [reference.patients]                    # patient_id, practice_id: one row per patient and controller
# file = "reference/patients.csv"
# [reference.patients.columns]
# patient_id = "ipp"
# practice_id = "practice"
# [reference.care]                        # patient_id, practice_id or account_id, kind, start, end
# file = "reference/care.csv"
# [reference.care.columns]
# patient_id = "patient"
# practice_id = "practice"
# account_id = "doctor"
# kind = "type"
# start = "begin"
# end = "end"

# ---------------------------------------------------------------------------------------------
# The incident: half-open windows [start, end) written in `timezone`, stored in UTC.
# ---------------------------------------------------------------------------------------------
# [incident]
# name = "Breach of November 2025"
# timezone = "Europe/Paris"
# windows = [["2025-11-10 18:00", "2025-11-14 09:00"]]
# compromised_accounts = ["dr.martin"]
# count_undetermined = true               # undetermined sessions count as affected (when in doubt, tell)
# baseline_days = 90                      # the days before the first window that show an account's habits
# usual_min_days = 2                      # an address or client is usual when used on this many different days
# containment = "2025-11-14 09:00"        # when the breach was contained
# [incident.indicators]
# ips = ["203.0.113.7", "198.51.100.0/24"]
# user_agents = ["python-requests/*"]
#
# An analyst's decision overrules the rules for one segment (or a whole session), with its justification:
# the report, sessions.csv and the manifest carry it. Keys are in sessions.csv (segment_key, session_key).
# [[incident.decisions]]
# segment = "log:8f3a…/1f2e3d4c"
# session = "log:8f3a…"                   # instead of segment: the whole session
# verdict = "owner"                       # attacker | owner | undetermined | excluded (left out, who acted unsaid)
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

# ---------------------------------------------------------------------------------------------
# The Spark engine ([case] engine = "spark"): where it runs.
# ---------------------------------------------------------------------------------------------
# [spark]
# master = "local[*]"                     # this machine; a cluster master, or Spark Connect: "sc://host:15002"
#                                         # (its token: ;token=… or SPARK_CONNECT_AUTHENTICATE_TOKEN)
# config = { "spark.driver.memory" = "4g" }   # any Spark setting (over sc://, spark.sql.* ones only);
#                                             # "spark.api.mode" = "connect": scoping starts a Spark Connect server
#                                             # on this machine and is its client
'''
