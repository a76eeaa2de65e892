"""Building a programme at scale in the bench database (setup: not what the bench measures).

Small tables go through the ORM; the big ones (participations, reports, lines) through PostgreSQL's
COPY, ids read back by natural key. Built rows get no history rows (only the measured import
writes history). The spread is deterministic for a given seed:

- two programmes: the measured one (`PSM-BENCH`) and a small other one (`PSM-AUTRE`, about 5 % of
  the projects) whose lines the programme filter must leave out;
- one period per fiscal year (2019-2020 to 2023-2024 by default) in each programme;
- partner kinds mixed (large enterprises, SMEs in and out of Quebec, research centres, others);
- projects of both types and every status, with staggered dates (some without an end), a lead
  and 0 to 4 other participants;
- one report per partner and period of a programme in which it has a running project, approved
  for most past periods and less and less so towards the latest (submitted, returned, draft);
- investment lines spread over reports in proportion to the partner's running projects, on
  every (category, performer); jobs and product lines alongside (1/20 and 1/200 of the lines).

The CSV to import holds `import_rows` further investment lines, new to the database, on reports of
the import period (the latest by default): what a yearly collection file looks like.
"""

import csv
import datetime
import random
import sys
import time
from decimal import Decimal

CATEGORIES = ["labour", "equipment", "subcontracting", "materials", "other"]
PERFORMERS = ["self", "quebec_sme", "research_centre", "other"]
COMBOS = [(c, p) for c in CATEGORIES for p in PERFORMERS]  # a line's key within (report, project)

MAIN_PROGRAMME = "PSM-BENCH"
OTHER_PROGRAMME = "PSM-AUTRE"
OTHER_SHARE = 0.05
SECTORS = [
    ("AUTO", "Automobile", "Automotive"),
    ("COMM", "Communications et informations", "Communications and information"),
    ("SANTE", "Sciences de la vie et santé", "Life sciences and health"),
    ("ENERGIE", "Énergie", "Energy"),
    ("AERO", "Aérospatiale", "Aerospace"),
    ("AGRO", "Agroalimentaire", "Agri-food"),
    ("FIN", "Services financiers", "Financial services"),
    ("MANUF", "Fabrication avancée", "Advanced manufacturing"),
    ("TRANSP", "Transport et logistique", "Transport and logistics"),
    ("ENV", "Environnement", "Environment"),
]


def log(message):
    print(f"  [build] {message}", file=sys.stderr, flush=True)


def fiscal_labels(first_year, count):
    return [f"{year}-{year + 1}" for year in range(first_year, first_year + count)]


def period_bounds(label):
    first = int(label[:4])
    return datetime.date(first, 4, 1), datetime.date(first + 1, 3, 31)


def allocate(total, capacities):
    """Split `total` over slots in proportion to their capacity, never beyond it (exact sum)."""
    room = sum(capacities)
    if total > room:
        raise SystemExit(
            f"bench: cannot place {total} lines in {room} free (report, project, category, "
            "performer) slots: raise --projects or --partners, or lower --lines/--import-rows"
        )
    if total == 0 or room == 0:
        return [0] * len(capacities)
    shares = [total * cap / room for cap in capacities]
    counts = [int(s) for s in shares]
    missing = total - sum(counts)
    order = sorted(range(len(capacities)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in order:
        if missing == 0:
            break
        if counts[i] < capacities[i]:
            counts[i] += 1
            missing -= 1
    return counts


def random_amount(rng):
    """Lognormal amounts, median about 8 000 $, to the cent."""
    return Decimal(f"{min(rng.lognormvariate(9.0, 1.2), 5_000_000):.2f}")


def copy_rows(cursor, table, columns, rows):
    """COPY `rows` (an iterable of tuples) into `table`; returns the number of rows."""
    count = 0
    quoted = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def build(opts, csv_path, extra_csv_paths=()):
    """Fill the (migrated, empty) bench database; write the import CSV(s). Returns a summary.

    `extra_csv_paths` are (path, rows) pairs of further files of new lines on the same reports
    (used for the rollback check and the profile), disjoint from each other and from the database.
    """
    from django.db import connection, transaction

    from portal.models import (
        InvestmentLine,
        JobLine,
        Participation,
        Partner,
        Period,
        ProductLine,
        Programme,
        Project,
        Report,
        Sector,
    )

    rng = random.Random(opts.seed)
    started = time.perf_counter()
    labels = fiscal_labels(opts.first_year, opts.periods)
    import_label = opts.import_period or labels[-1]
    if import_label not in labels:
        raise SystemExit(f"bench: --import-period {import_label} is not one of {labels}")

    with transaction.atomic():
        # --- Registry: programmes, periods, sectors, partners (ORM, small). -----------------
        programmes = {}
        for code, name in ((MAIN_PROGRAMME, "Banc d'essai"), (OTHER_PROGRAMME, "Autre programme")):
            start, _ = period_bounds(labels[0])
            _, end = period_bounds(labels[-1])
            programmes[code] = Programme.objects.create(
                code=code,
                name=name,
                funder="Ministère de l'Économie",
                government_aid=Decimal("26750000"),
                investment_target=Decimal("160500000"),
                jobs_target=500,
                sme_research_share_target=Decimal("0.15"),
                start=start,
                end=end,
            )
        periods = {}  # (programme code, label) -> Period
        for code, programme in programmes.items():
            for index, label in enumerate(labels):
                start, end = period_bounds(label)
                state = "open" if index == len(labels) - 1 else "published"
                periods[code, label] = Period.objects.create(
                    programme=programme,
                    label=label,
                    start=start,
                    end=end,
                    deadline=end + datetime.timedelta(days=61),
                    state=state,
                )
        sectors = Sector.objects.bulk_create(
            [Sector(code=c, name_fr=fr, name_en=en) for c, fr, en in SECTORS]
        )
        kinds = rng.choices(
            ["large_enterprise", "sme", "research_centre", "other"],
            weights=[20, 50, 20, 10],
            k=opts.partners,
        )
        partners = Partner.objects.bulk_create(
            [
                Partner(
                    code=f"P{n:05d}",
                    name=f"Partenaire {n}",
                    kind=kind,
                    quebec=rng.random() < (0.8 if kind == "sme" else 0.9),
                )
                for n, kind in enumerate(kinds, 1)
            ],
            batch_size=2000,
        )
        partner_ids = [p.pk for p in partners]
        log(f"{len(partners)} partners, {len(periods)} periods")

        # --- Projects and participations. ---------------------------------------------------
        first_day, _ = period_bounds(labels[0])
        _, last_day = period_bounds(labels[-1])
        span = (last_day - first_day).days
        other_count = max(1, round(opts.projects * OTHER_SHARE)) if opts.projects > 1 else 0
        projects = []
        for n in range(1, opts.projects + 1):
            start = first_day + datetime.timedelta(days=rng.randint(-365, span - 90))
            end = (
                None
                if rng.random() < 0.25
                else start + datetime.timedelta(days=rng.randint(365, 5 * 365))
            )
            status = rng.choices(
                ["active", "completed", "planned", "cancelled"], weights=[60, 25, 10, 5]
            )[0]
            projects.append(
                Project(
                    programme=programmes[OTHER_PROGRAMME if n <= other_count else MAIN_PROGRAMME],
                    code=f"PRJ{n:06d}",
                    title=f"Projet {n}",
                    type=rng.choice(["product_development", "collaborative_fundamental"]),
                    objective="Développer une solution numérique.",
                    sector=rng.choice(sectors),
                    lead_partner_id=rng.choice(partner_ids),
                    start=start,
                    end=end,
                    status=status,
                )
            )
        projects = Project.objects.bulk_create(projects, batch_size=5000)
        participations = []
        for project in projects:
            participations.append((project.pk, project.lead_partner_id, "lead"))
            others = rng.sample(partner_ids, min(len(partner_ids), rng.randint(0, 4) + 1))
            participations.extend(
                (project.pk, pid, "participant") for pid in others if pid != project.lead_partner_id
            )
        with connection.cursor() as cursor:
            copy_rows(
                cursor.cursor,
                Participation._meta.db_table,
                ["project_id", "partner_id", "role"],
                participations,
            )
        log(
            f"{len(projects)} projects ({other_count} in {OTHER_PROGRAMME}), "
            f"{len(participations)} participations"
        )

        # Projects of each partner, by programme (the lead is always a participant).
        partner_projects = {}
        for project_id, partner_id, _role in participations:
            partner_projects.setdefault(partner_id, set()).add(project_id)
        by_id = {p.pk: p for p in projects}

        # --- Reports: one per partner and period with a running project of the programme. ---
        report_specs = []  # (partner_id, period, running project ids)
        for partner_id in partner_ids:
            mine = sorted(partner_projects.get(partner_id, ()))
            for (code, _label), period in periods.items():
                running = [
                    pid
                    for pid in mine
                    if by_id[pid].programme_id == programmes[code].pk
                    and by_id[pid].start <= period.end
                    and (by_id[pid].end is None or by_id[pid].end >= period.start)
                ]
                if running:
                    report_specs.append((partner_id, period, running))
        report_rows = []
        for partner_id, period, _running in report_specs:
            index = labels.index(period.label)
            approved = 0.45 if index == len(labels) - 1 else 0.95 - 0.05 * index
            rest = (1 - approved) / 3
            status = rng.choices(
                ["approved", "submitted", "returned", "draft"],
                weights=[approved, rest, rest, rest],
            )[0]
            comment = "Précisez la ventilation des dépenses." if status == "returned" else ""
            report_rows.append((partner_id, period.pk, status, comment, 1))
        with connection.cursor() as cursor:
            copy_rows(
                cursor.cursor,
                Report._meta.db_table,
                ["partner_id", "period_id", "status", "comment", "version"],
                report_rows,
            )
            cursor.execute(f'SELECT partner_id, period_id, id FROM "{Report._meta.db_table}"')
            report_ids = {(a, p): r for a, p, r in cursor.fetchall()}
        statuses = {}
        for row in report_rows:
            statuses[row[2]] = statuses.get(row[2], 0) + 1
        log(f"{len(report_rows)} reports {statuses}")

        # --- Investment lines: database and import file(s), from disjoint slots. ------------
        capacities = [len(running) * len(COMBOS) for _a, _p, running in report_specs]
        existing = allocate(opts.lines, capacities)
        is_import = [
            period.label == import_label and period.programme_id == programmes[MAIN_PROGRAMME].pk
            for _a, period, _r in report_specs
        ]
        files = [(csv_path, opts.import_rows), *extra_csv_paths]
        in_files = []
        free = [cap - used for cap, used in zip(capacities, existing, strict=True)]
        for _path, rows in files:
            counts = allocate(
                rows, [f if imp else 0 for f, imp in zip(free, is_import, strict=True)]
            )
            in_files.append(counts)
            free = [f - c for f, c in zip(free, counts, strict=True)]

        code_of_partner = {p.pk: p.code for p in partners}
        code_of_project = {p.pk: p.code for p in projects}
        # One random stream per purpose: the database's lines do not depend on the files' sizes,
        # nor the import file on whether a profile file is also written.
        line_rng = random.Random(f"{opts.seed}-lines")
        file_rngs = [random.Random(f"{opts.seed}-file-{f}") for f in range(len(files))]
        db_lines = []
        file_lines = [[] for _ in files]
        for r, (partner_id, period, running) in enumerate(report_specs):
            report_id = report_ids[partner_id, period.pk]
            slots = line_rng.sample(range(capacities[r]), existing[r])
            for slot in slots:
                category, performer = COMBOS[slot % len(COMBOS)]
                db_lines.append(
                    (
                        report_id,
                        running[slot // len(COMBOS)],
                        random_amount(line_rng),
                        category,
                        performer,
                    )
                )
            if not any(counts[r] for counts in in_files):
                continue
            taken = set(slots)
            for f, counts in enumerate(in_files):
                free_slots = [s for s in range(capacities[r]) if s not in taken]
                file_rng = file_rngs[f]
                for slot in file_rng.sample(free_slots, counts[r]):
                    taken.add(slot)
                    category, performer = COMBOS[slot % len(COMBOS)]
                    amount = random_amount(file_rng)
                    # One amount in twenty written the French way (`1 234,56`), as people do.
                    text = (
                        f"{amount:,.2f}".replace(",", " ").replace(".", ",")
                        if file_rng.random() < 0.05
                        else f"{amount:.2f}"
                    )
                    file_lines[f].append(
                        (
                            period.label,
                            code_of_partner[partner_id],
                            code_of_project[running[slot // len(COMBOS)]],
                            text,
                            category,
                            performer,
                        )
                    )
        line_rng.shuffle(db_lines)  # insertion order unrelated to reports, as after years of use
        with connection.cursor() as cursor:
            copy_rows(
                cursor.cursor,
                InvestmentLine._meta.db_table,
                ["report_id", "project_id", "amount", "category", "performer"],
                db_lines,
            )
        log(f"{len(db_lines)} investment lines")
        for (path, _rows), rows, file_rng in zip(files, file_lines, file_rngs, strict=True):
            file_rng.shuffle(rows)
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["period", "partner", "project", "amount", "category", "performer"])
                writer.writerows(rows)
            log(f"{len(rows)} rows written to {path}")

        # --- Jobs and products (read by the rollup too). -------------------------------------
        rng = random.Random(f"{opts.seed}-jobs-products")
        jobs = allocate(opts.lines // 20, [len(r) for _a, _p, r in report_specs])
        job_rows = []
        product_rows = []
        products = allocate(opts.lines // 200, [len(r) * 10 for _a, _p, r in report_specs])
        for r, (partner_id, period, running) in enumerate(report_specs):
            report_id = report_ids[partner_id, period.pk]
            for project_id in rng.sample(running, jobs[r]):
                job_rows.append((report_id, project_id, rng.randint(0, 30), rng.randint(0, 15)))
            for n in range(products[r]):
                launch = period.start + datetime.timedelta(days=rng.randint(-60, 400))
                product_rows.append(
                    (
                        report_id,
                        rng.choice(running),
                        f"Produit {r}-{n}",
                        rng.choice(sectors).pk,
                        launch,
                        rng.random() < 0.85,
                    )
                )
        with connection.cursor() as cursor:
            copy_rows(
                cursor.cursor,
                JobLine._meta.db_table,
                ["report_id", "project_id", "direct", "indirect"],
                job_rows,
            )
            copy_rows(
                cursor.cursor,
                ProductLine._meta.db_table,
                [
                    "report_id",
                    "project_id",
                    "name",
                    "sector_id",
                    "launch_date",
                    "uses_programme_technology",
                ],
                product_rows,
            )
        log(f"{len(job_rows)} job lines, {len(product_rows)} product lines")

    # Statistics as autovacuum would eventually gather them: the planner needs them.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"built and analysed in {time.perf_counter() - started:.1f} s")

    return {
        "programme": MAIN_PROGRAMME,
        "periods": labels,
        "import_period": import_label,
        "partners": len(partners),
        "projects": len(projects),
        "projects_other_programme": other_count,
        "participations": len(participations),
        "reports": len(report_rows),
        "report_statuses": statuses,
        "investment_lines": len(db_lines),
        "job_lines": len(job_rows),
        "product_lines": len(product_rows),
        "import_rows": [len(rows) for rows in file_lines],
    }
