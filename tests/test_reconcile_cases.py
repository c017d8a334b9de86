"""Each finding kind from a small constructed case (tests/constructed.py): every defect once, at a known place."""


def _found(conn, check_id):
    return conn.execute("SELECT severity, file, sheet, row, cell, message FROM findings "
                        "WHERE quarter = '2020-Q2' AND check_id = ? ORDER BY row", [check_id]).fetchall()


def test_each_finding_kind_at_its_place(constructed):
    found = {(c, f, r) for c, f, r in constructed.execute(
        "SELECT check_id, file, row FROM findings WHERE quarter = '2020-Q2' AND severity <> 'info'").fetchall()}
    assert found == {
        ("missing_labels", "mail/thieu cot.xlsx", 1),
        ("outside_quarter", "ioffice/vb.xlsx", 3),
        ("invalid_row", "ioffice/vb.xlsx", 6),
        ("unreadable_file", "mail/hong.xlsx", None),
        ("unknown_location", "ghi chu.txt", None),
        ("unmatched_agency", "ioffice/vb.xlsx", 4),
        ("invalid_service_level", "dvc/dm.xlsx", 4),
        ("unknown_procedure", "dvc/t4.xls", 4),
        ("duplicates_dropped", "dvc/t5.xls", 2),
        ("duplicates_differ", "dvc/t5.xls", 2),
        ("summary_mismatch", "dvc/th.xlsx", 5),
        ("iso_level_mismatch", "iso/iso.xlsx", 2),
        ("certificate_continuity", None, None),
        ("mailbox_continuity", None, None),
        # tables this small quarter does not export: their figures are NULL and say so
        *{("indicator_unavailable", None, None)},
    }


def test_ignored_sheets_are_info(constructed):
    assert ("sheet_ignored", "ioffice/vb.xlsx", "Hướng dẫn") in constructed.execute(
        "SELECT check_id, file, sheet FROM findings WHERE quarter = '2020-Q2' AND severity = 'info'").fetchall()


def test_figures_follow_the_rules_on_the_constructed_quarter(constructed):
    values = dict(constructed.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert values["ioffice.documents.total"] == 3 and values["ioffice.documents.electronic"] == 1
    assert values["dvc.services"] == 3 and values["dvc.services.level3"] == 1 and values["dvc.services.level4"] == 1
    assert values["dvc.dossiers.received"] == 3 and values["dvc.dossiers.level3.online"] == 1  # first copy of H1 kept
    assert values["dvc.dossiers.level34"] == 2 and values["dvc.dossiers.resolved"] == 1
    assert values["ca.issued"] == 1 and values["ca.active"] == 3 and values["mail.mailboxes"] == 4
    assert values["iso.agencies.province"] == 1 and values["iso.agencies.district"] == 0
    assert values["vcon.meetings"] is None and values["portal.main"] is None
