#!/usr/bin/env python3
"""Derives the crosswalk service's data migrations from the files of this folder.

    python3 services/crosswalk/data/derive.py            # writes ../migrations/NNNN_*.csv
    python3 services/crosswalk/data/derive.py --check    # exits 1 if they would change

Inputs (see README.md for their sources): iso27001_2022_annexA.csv,
crosswalk_iso27001_nis2.csv (copies of the reference files), nis2_requirements.csv
and ir2690_sections.csv (written for Bulwark). Outputs: the sources, frameworks,
requirements and mappings tables as CSV files that `bulwarkctl migrate` loads
with COPY. The output is deterministic: the same inputs give the same bytes, so
an applied migration's checksum only changes when the data does.
"""
import csv
import io
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(HERE, "..", "migrations")

ISO, NIS2, IR = "iso27001-2022", "nis2", "nis2-ir-2024-2690"

SOURCES = [
    ("iso27001-2022", "ISO/IEC 27001:2022 clause titles and Annex A (Table A.1)", "ISO/IEC",
     "ISO/IEC 27001:2022; titles cross-checked with iso27001-2022.yaml@afd672c6cf8a",
     "intuitem/ciso-assistant-community:backend/library/libraries/iso27001-2022.yaml",
     "titles only; the text of the standard is not included"),
    ("nis2-directive", "Directive (EU) 2022/2555 (NIS2), duties restated by Bulwark",
     "European Parliament and Council of the European Union", "OJ L 333, 27.12.2022",
     "CELEX 32022L2555; restated in Bulwark's reference article21.md",
     "EU legislation; restated text"),
    ("ir2690-annex",
     "Commission Implementing Regulation (EU) 2024/2690, Annex section headings and numbering",
     "European Commission", "CELEX 32024R2690 (17 October 2024)",
     "numbering as in intuitem/ciso-assistant-community:backend/library/libraries/"
     "annex-nis2-regulation--2024-2690-with-technical-implementation-guidance-by-enisa.yaml"
     "@8e3bf28168560311f10888dca95a24c6543efa8f",
     "EU legislation; headings restated"),
    ("enisa-tig-mapping",
     "ENISA NIS2 Technical Implementation Guidance mapping table v1.0 (June 2025), "
     "as packaged by CISO Assistant", "ENISA",
     "mapping version 2 (2025-07-09); commit 656bb558feb065711b20fcc83beedfe26eaf1834",
     "intuitem/ciso-assistant-community:backend/library/libraries/"
     "mapping-annex-technical-and-methodological-requirements-nis2-and-iso27001-2022.yaml",
     "CC BY 4.0, (c) ENISA 2025"),
    ("bulwark-editorial", "Bulwark editorial judgement (not from ENISA or CISO Assistant)",
     "Bulwark", "crosswalk data 1", "services/crosswalk/data/README.md", "as Bulwark"),
]

FRAMEWORKS = [
    (ISO, 1, "ISO/IEC 27001:2022 Information security management systems - Requirements",
     "2022", "iso27001-2022",
     "Clauses 4 to 10 and the 93 Annex A controls (titles only). A Statement of Applicability "
     "records clauses and controls alike; the clauses are mandatory and cannot be excluded."),
    (NIS2, 2, "Directive (EU) 2022/2555 (NIS2)", "2022/2555", "nis2-directive",
     "Art 20(1)-(2), 21(2)(a)-(j), 21(3)-(4) and 23(1)-(4), plus the other duties no ISO/IEC "
     "27001 control covers (Art 3(3), 24, 26(3), 27(2), 28, 32-33), split into requirements "
     "by Bulwark."),
    (IR, 3, "Commission Implementing Regulation (EU) 2024/2690, Annex: technical and "
     "methodological requirements", "2024/2690", "ir2690-annex",
     "The Annex requirements the ENISA mapping names, plus 7.2, 7.3, 9.2 and 9.3, which it "
     "does not map, and Art 2(2). Each Annex section implements the Art 21(2) point or points "
     "its heading names."),
]

# Editorial rows of crosswalk_iso27001_nis2.csv: (nis2_ref, point) -> (framework, ref).
EDITORIAL_TARGETS = {
    ("Art.20(1)", "approve"): (NIS2, "20.1.approve"),
    ("Art.20(1)", "oversee"): (NIS2, "20.1.oversee"),
    ("Art.20(2)", "mgmt_training"): (NIS2, "20.2.mgmt_training"),
    ("Art.20(2)", "staff_training"): (NIS2, "20.2.staff_training"),
    ("Art.21(3)", "supply_chain_assessment"): (NIS2, "21.3"),
    ("Art.21(4)", "corrective_action"): (NIS2, "21.4"),
    ("Art.23(1)", "notify_recipients"): (NIS2, "23.1.recipients"),
    ("Art.23(1)", "notify_csirt"): (NIS2, "23.1.csirt"),
    ("Art.23(1)", "internal_reporting"): (NIS2, "23.1.csirt"),
    ("Art.23(2)", "threat_comm"): (NIS2, "23.2"),
    ("Art.23(3)", "significance"): (NIS2, "23.3"),
    ("Art.23(4)(b)", "iocs"): (NIS2, "23.4.b"),
    ("Art.23(4)(d)", "final_report_root_cause"): (NIS2, "23.4.d"),
    ("IR2024/2690 Art.2(2)", "documented_reasoning"): (IR, "art.2.2"),
}
# Editorial rows whose notes column is empty get this rationale.
EDITORIAL_RATIONALE = {
    ("7.3", "staff_training"): "Awareness of the security policy and of one's own contribution "
                               "supports the regular training of employees Art 20(2) encourages.",
    ("9.3.2", "oversee"): "The inputs of the management review are what the management body "
                          "needs to oversee the measures.",
}
# The no_counterpart rows: each must name NIS2 requirements marked not coverable.
NO_COUNTERPART = {
    "management_liability": ["20.1.liability"],
    "mandatory_board_training": ["20.2.mgmt_training"],
    "union_supply_chain_assessments": ["21.3"],
    "recipient_notification": ["23.1.recipients"],
    "regulatory_significance_thresholds": ["23.3"],
    "early_warning_24h": ["23.4.a"],
    "incident_notification_72h": ["23.4.b"],
    "intermediate_report": ["23.4.c"],
    "final_and_progress_report": ["23.4.d", "23.4.e"],
    "certified_ict": ["24"],
    "eu_representative": ["26.3"],
    "enisa_registry": ["27.2"],
    "domain_registration_data": ["28"],
    "registration": ["3.3"],
    "supervision_cooperation": ["32"],
}
# Annex requirements the ENISA mapping does not name (article21.md section 6).
IR_UNMAPPED = ["7.2", "7.3", "9.2", "9.3"]
IR_ART_2_2 = ("art.2.2", "Documented reasoning when a relevant entity does not apply a "
              "requirement the Annex qualifies with 'where appropriate', 'where applicable' or "
              "'to the extent feasible' (IR Art 2(2))")
ISO_CLAUSE_TITLES = {
    "4": "Context of the organization", "5": "Leadership", "6": "Planning", "7": "Support",
    "8": "Operation", "9": "Performance evaluation", "10": "Improvement",
}


def natural_key(ref):
    parts = []
    for p in re.split(r"[.]", ref):
        if p.isdigit():
            parts.append((0, int(p), ""))
        else:
            parts.append((1, 0, p))
    return parts


def read(name):
    with open(os.path.join(HERE, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fail(msg):
    sys.stderr.write("derive.py: %s\n" % msg)
    sys.exit(1)


def iso_requirements():
    rows = read("iso27001_2022_annexA.csv")
    out = {}
    themes = {}
    for r in rows:
        parent = r["parent"]
        m = re.match(r"^(A\.\d+|\d+) (.+)$", parent)
        if m:
            group, title = m.group(1), m.group(2)
            kind = "theme" if group.startswith("A.") else "clause"
            if group not in out:
                out[group] = dict(ref=group, parent="", kind=kind, title=title,
                                  theme=r["theme"] if kind == "theme" else "")
            parent = group
        out[r["ref"]] = dict(ref=r["ref"], parent=parent, kind=r["kind"], title=r["title"],
                             theme=r["theme"] if r["kind"] == "annex_a_control" else "")
        if r["kind"] == "annex_a_control":
            themes[r["theme"]] = themes.get(r["theme"], 0) + 1
    for ref, title in ISO_CLAUSE_TITLES.items():
        if out[ref]["title"] != title:
            fail("clause %s is titled %r" % (ref, out[ref]["title"]))
    if themes != {"organizational": 37, "people": 8, "physical": 14, "technological": 34}:
        fail("unexpected Annex A themes %r" % themes)
    parents = {r["parent"] for r in out.values()}
    for r in out.values():
        r["assessable"] = r["ref"] not in parents and r["kind"] in ("clause", "annex_a_control")
        r["iso_coverable"] = True
        r["obligation"] = ""
        r["source"] = "iso27001-2022"
    ordered = sorted(out.values(), key=lambda r: (r["ref"].startswith("A."),
                                                  natural_key(r["ref"].removeprefix("A."))))
    return ordered


def nis2_requirements():
    out = []
    refs = set()
    for r in read("nis2_requirements.csv"):
        if r["parent"] and r["parent"] not in refs:
            fail("nis2 %s names parent %s before it is listed" % (r["ref"], r["parent"]))
        refs.add(r["ref"])
        coverable = r["iso_coverable"] == "true"
        if not coverable and not r["obligation"]:
            fail("nis2 %s is not coverable but says nothing about what to do" % r["ref"])
        out.append(dict(ref=r["ref"], parent=r["parent"], kind=r["kind"], title=r["title"],
                        theme="", iso_coverable=coverable, obligation=r["obligation"],
                        source="nis2-directive"))
    parents = {r["parent"] for r in out}
    for r in out:
        r["assessable"] = r["ref"] not in parents and r["kind"] in ("duty", "point")
    return out


def ir_point_label(ref):
    parts = ref.split(".")
    nums = [p for p in parts if p.isdigit()]
    letters = [p for p in parts if not p.isdigit()]
    return ".".join(nums) + "".join("(%s)" % x for x in letters)


def ir_requirements(crosswalk):
    sections = {r["section"]: r for r in read("ir2690_sections.csv")}
    subsections = {}
    mapped = set()
    for r in crosswalk:
        ref = r["ir2690_ref"]
        if not ref:
            continue
        mapped.add(ref)
        label = r["ir2690_section"]
        m = re.match(r"^(\d+(?:\.\d+)?) (.+)$", label)
        if not m:
            fail("unexpected IR section label %r" % label)
        num, title = m.group(1), m.group(2)
        if num == "10.2":
            # The library's label for 10.2 is wrong (article21.md section 1.2).
            title = "Verification of background"
        if "." in num:
            if subsections.setdefault(num, title) != title:
                fail("IR subsection %s has two titles" % num)
        elif title.lower() != sections[num]["title"].lower():
            fail("IR section %s is titled %r, not %r" % (num, title, sections[num]["title"]))
    out = {}
    for num, s in sections.items():
        out[num] = dict(ref=num, parent="", kind="section", title=s["title"])
    for num, title in subsections.items():
        out[num] = dict(ref=num, parent=num.split(".")[0], kind="subsection", title=title)

    def heading(ref):
        parts = ref.split(".")
        if len(parts) >= 2 and ".".join(parts[:2]) in subsections:
            return subsections[".".join(parts[:2])]
        return sections[parts[0]]["title"]

    def add(ref, kind):
        if ref in out:
            return
        parent = ".".join(ref.split(".")[:-1])
        add(parent, "paragraph")
        out[ref] = dict(ref=ref, parent=parent, kind=kind,
                        title="%s, point %s" % (heading(ref), ir_point_label(ref)))

    for ref in sorted(mapped | set(IR_UNMAPPED), key=natural_key):
        if ref in out and out[ref]["kind"] == "paragraph":
            out[ref]["kind"] = "requirement"
        add(ref, "requirement")
        out[ref]["kind"] = "requirement"
    ordered = [dict(ref=IR_ART_2_2[0], parent="", kind="article", title=IR_ART_2_2[1])]
    ordered += sorted(out.values(), key=lambda r: natural_key(r["ref"]))
    for r in ordered:
        r["theme"] = ""
        r["assessable"] = r["kind"] in ("requirement", "article")
        r["iso_coverable"] = True
        r["obligation"] = ""
        r["source"] = "ir2690-annex"
    return ordered, sections


def mappings(crosswalk, reqs, ir_sections):
    known = {(fw, r["ref"]) for fw, rs in reqs.items() for r in rs}
    nis2 = {r["ref"]: r for r in reqs[NIS2]}
    rows = {}

    def put(sfw, sref, tfw, tref, rel, rationale, source):
        for key in ((sfw, sref), (tfw, tref)):
            if key not in known:
                fail("mapping names unknown requirement %s %s" % key)
        k = (sfw, sref, tfw, tref)
        if k in rows:
            fail("mapping %r listed twice" % (k,))
        rows[k] = (rel, rationale, source)

    for r in crosswalk:
        rel = r["relationship"]
        if rel == "intersect":
            put(ISO, r["iso_ref"], IR, r["ir2690_ref"], "INTERSECT",
                "Listed by ENISA as intersecting; the source gives no rationale or strength.",
                "enisa-tig-mapping")
        elif rel == "partial (editorial)":
            for point in r["nis2_points"].split(";"):
                target = EDITORIAL_TARGETS.get((r["nis2_ref"], point))
                if target is None:
                    fail("row %s: no target for %s %s" % (r["row_id"], r["nis2_ref"], point))
                rationale = r["notes"] or EDITORIAL_RATIONALE.get((r["iso_ref"], point))
                if not rationale:
                    fail("row %s: no rationale" % r["row_id"])
                put(ISO, r["iso_ref"], target[0], target[1], "INTERSECT",
                    "Partial (editorial): " + rationale, "bulwark-editorial")
        elif rel == "no_counterpart":
            targets = NO_COUNTERPART.get(r["nis2_points"])
            if targets is None:
                fail("row %s: unknown duty %s" % (r["row_id"], r["nis2_points"]))
            for t in targets:
                if nis2[t]["iso_coverable"]:
                    fail("row %s: nis2 %s has no ISO counterpart but is marked coverable"
                         % (r["row_id"], t))
        else:
            fail("row %s: unknown relationship %r" % (r["row_id"], rel))

    # Each Annex requirement belongs to the Art 21(2) point(s) of its section heading.
    for r in reqs[IR]:
        if not r["assessable"] or r["ref"] == IR_ART_2_2[0]:
            continue
        section = r["ref"].split(".")[0]
        s = ir_sections[section]
        points = s["points"].split(";")
        for p in points:
            if len(points) == 1:
                rel = "SUBSET"
                why = ("Annex section %s (%s) implements Art 21(2)(%s): the requirement is "
                       "part of that point." % (section, s["title"], p))
            else:
                rel = "INTERSECT"
                why = ("Annex section %s (%s) implements Art 21(2) points %s: the requirement "
                       "is attributed to each by the section heading, not by its content."
                       % (section, s["title"], ", ".join("(%s)" % x for x in points)))
            put(IR, r["ref"], NIS2, "21.2." + p, rel, why, "ir2690-annex")
    order = {}
    for fw, rs in reqs.items():
        for i, r in enumerate(rs):
            order[(fw, r["ref"])] = i
    fw_order = {ISO: 0, NIS2: 1, IR: 2}
    keys = sorted(rows, key=lambda k: (fw_order[k[0]], fw_order[k[2]], order[(k[0], k[1])],
                                       order[(k[2], k[3])]))
    return [(k[0], k[1], k[2], k[3]) + rows[k] for k in keys]


def csv_text(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def main():
    check = "--check" in sys.argv[1:]
    crosswalk = read("crosswalk_iso27001_nis2.csv")
    ir, ir_sections = ir_requirements(crosswalk)
    reqs = {ISO: iso_requirements(), NIS2: nis2_requirements(), IR: ir}
    maps = mappings(crosswalk, reqs, ir_sections)

    req_rows = []
    for fw in (ISO, NIS2, IR):
        for pos, r in enumerate(reqs[fw], 1):
            req_rows.append((fw, r["ref"], pos, r["parent"], r["kind"], r["title"], r["theme"],
                             "true" if r["assessable"] else "false",
                             "true" if r["iso_coverable"] else "false", r["obligation"],
                             r["source"]))
    files = {
        "0002_crosswalk.sources.csv": csv_text(
            ["source_id", "title", "publisher", "version", "locator", "licence"], SOURCES),
        "0003_crosswalk.frameworks.csv": csv_text(
            ["framework_id", "position", "title", "version", "source_id", "note"], FRAMEWORKS),
        "0004_crosswalk.requirements.csv": csv_text(
            ["framework_id", "ref", "position", "parent_ref", "kind", "title", "theme",
             "assessable", "iso_coverable", "obligation", "source_id"], req_rows),
        "0005_crosswalk.mappings.csv": csv_text(
            ["source_framework", "source_ref", "target_framework", "target_ref", "relationship",
             "rationale", "source_id"], maps),
    }
    changed = []
    for name, text in files.items():
        path = os.path.join(MIGRATIONS, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            changed.append(name)
            if not check:
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
    counts = {fw: (len(rs), sum(1 for r in rs if r["assessable"])) for fw, rs in reqs.items()}
    sys.stdout.write("requirements (all, assessable): %r; mappings: %d\n" % (counts, len(maps)))
    if check and changed:
        fail("out of date: %s" % ", ".join(changed))


if __name__ == "__main__":
    main()
