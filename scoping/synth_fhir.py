"""The synthetic world written as FHIR R4 AuditEvent NDJSON (gzip), the way a FHIR server's bulk export is.

Conventions follow IHE BALP: the user is the requestor agent (identifier = the account, network = the
address, policy = the session token); each patient is an entity with object-role 1; a search writes one
AuditEvent per patient of the result set (same search, same time); an export names every patient.
FHIR has no word for 'download', 'print' or 'share': they are written as DCM 110106 Export, which keeps
the exposure ('copied') but not the application's own verb; data categories come from resource types.
"""

from __future__ import annotations

import gzip
from dataclasses import asdict
from pathlib import Path

import polars as pl

from .synth_activity import CODES
from .synth_logs import FileStats

# code → (FHIR interaction or DCM code, resource type of the data entity)
_FHIR = {
    "LOGIN": ("110122", None), "LOGIN_FAILED": ("110122", None), "LOGOUT": ("110123", None),
    "SEARCH_PATIENT": ("search-type", "Patient"), "OPEN_SUMMARY": ("read", "Patient"),
    "OPEN_NOTE": ("read", "Composition"), "OPEN_PRESCRIPTION": ("read", "MedicationRequest"),
    "OPEN_LAB": ("read", "Observation"), "DOWNLOAD_DOC": ("110106", "DocumentReference"),
    "PRINT_RECORD": ("110106", "Bundle"), "EXPORT_LIST": ("110106", "List"),
    "EDIT_NOTE": ("update", "Composition"), "NEW_PRESCRIPTION": ("create", "MedicationRequest"),
    "SEND_REMINDER": ("110106", "Communication"), "OPEN_APPOINTMENTS": ("read", "Appointment"),
    "OPEN_CONTACT": ("read", "Patient"),
}
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_REST = "http://hl7.org/fhir/restful-interaction"
_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_ETYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"


class FhirWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = path.open("wb")
        self.fh = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=1)
        self.stats = FileStats(path=f"logs/{path.name}")
        self.counter = 0

    def write(self, df: pl.DataFrame) -> None:
        names = [c[0] for c in CODES]
        code = pl.col("code").replace_strict(list(range(len(CODES))), names, return_dtype=pl.String)
        fhir_code = code.replace_strict({k: v[0] for k, v in _FHIR.items()}, return_dtype=pl.String)
        rtype = code.replace_strict({k: v[1] for k, v in _FHIR.items()}, return_dtype=pl.String)
        rows = df.with_columns(code.alias("name"), fhir_code.alias("fhir"), rtype.alias("rtype"))
        # a search: one AuditEvent per patient of its result set (BALP)
        search = rows.filter(pl.col("name") == "SEARCH_PATIENT").explode("patients").with_columns(
            pl.col("patients").map_batches(lambda s: s.to_frame().select(pl.concat_list(pl.col(s.name))).to_series(),
                                           return_dtype=pl.List(pl.String)))
        rows = pl.concat([rows.filter(pl.col("name") != "SEARCH_PATIENT"), search]).sort("ts_us", "account_id",
                                                                                          "session", "code")
        n = rows.height
        rows = rows.with_columns((pl.int_range(0, n) + self.counter).alias("seq"))
        self.counter += n
        is_auth = pl.col("fhir").is_in(["110122", "110123"])
        is_export = pl.col("fhir") == "110106"
        action = (pl.when(is_auth | (pl.col("fhir") == "search-type")).then(pl.lit("E"))
                  .when(pl.col("fhir") == "create").then(pl.lit("C"))
                  .when(pl.col("fhir") == "update").then(pl.lit("U")).otherwise(pl.lit("R")))
        outcome = (pl.when(pl.col("outcome") == "success").then(pl.lit("0"))
                   .when(pl.col("name") == "LOGIN_FAILED").then(pl.lit("4")).otherwise(pl.lit("8")))
        type_coding = pl.struct(
            pl.when(is_auth).then(pl.lit(_DCM)).when(is_export).then(pl.lit(_DCM))
            .otherwise(pl.lit("http://terminology.hl7.org/CodeSystem/audit-event-type")).alias("system"),
            pl.when(is_auth).then(pl.lit("110114")).when(is_export).then(pl.lit("110106"))
            .otherwise(pl.lit("rest")).alias("code"))
        subtype = pl.concat_list(pl.struct(
            pl.when(is_auth).then(pl.lit(_DCM)).when(is_export).then(pl.lit(_DCM)).otherwise(pl.lit(_REST))
            .alias("system"),
            pl.when(is_export).then(pl.lit("ITI-32")).otherwise(pl.col("fhir")).alias("code")))
        time = pl.from_epoch(pl.col("ts_us"), time_unit="us").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        agent = pl.concat_list(pl.struct(
            pl.struct(pl.struct(pl.lit("IRCP").alias("code")).alias("coding").implode().alias("coding"))
            .alias("type"),
            pl.struct(pl.struct(pl.col("account_id").alias("value")).alias("identifier")).alias("who"),
            pl.lit(True).alias("requestor"),
            pl.struct(pl.col("ip").alias("address"), pl.lit("2").alias("type")).alias("network"),
            pl.concat_list(pl.col("session")).alias("policy")))
        patient_entities = pl.col("patients").list.eval(pl.struct(
            pl.struct(pl.format("Patient/{}", pl.element()).alias("reference")).alias("what"),
            pl.struct(pl.lit(_ETYPE).alias("system"), pl.lit("1").alias("code")).alias("type"),
            pl.struct(pl.lit(_ROLE).alias("system"), pl.lit("1").alias("code")).alias("role")))
        data_entity = pl.concat_list(pl.struct(
            pl.struct(pl.format("{}/{}", pl.col("rtype"), pl.col("seq")).alias("reference")).alias("what"),
            pl.struct(pl.lit(_ETYPE).alias("system"), pl.lit("2").alias("code")).alias("type"),
            pl.struct(pl.lit(_ROLE).alias("system"), pl.lit("4").alias("code")).alias("role")))
        entity = (pl.when(pl.col("rtype").is_null()).then(patient_entities)
                  .otherwise(pl.concat_list(data_entity, patient_entities)))
        encoded = rows.select(pl.struct(
            pl.lit("AuditEvent").alias("resourceType"),
            pl.format("ev{}", pl.col("seq").cast(pl.String).str.zfill(10)).alias("id"),
            type_coding.alias("type"), subtype.alias("subtype"), action.alias("action"),
            time.alias("recorded"), outcome.alias("outcome"), agent.alias("agent"),
            pl.struct(pl.struct(pl.lit("scoping-synth").alias("display")).alias("observer")).alias("source"),
            entity.alias("entity"),
        ).struct.json_encode().alias("line"))
        text = "\n".join(encoded["line"].to_list()) + "\n" if n else ""
        self.fh.write(text.encode())
        self.stats.lines += n
        self.stats.events += n

    def close(self) -> dict[str, object]:
        self.fh.close()
        self.raw.close()
        return asdict(self.stats)
