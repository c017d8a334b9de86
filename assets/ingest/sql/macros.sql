-- The typing rules of shared/spec/exports.md as DuckDB macros, shared by the staging query of every table.
--
-- A raw cell is STRUCT(text, type): the cell as the file holds it, written as text, and its own type:
-- 'n' a number, 's' text, 'd' a date (ISO), 'b' TRUE/FALSE; NULL for an empty cell. The type is what keeps the
-- spec's number-versus-text rule: a number cell 74.019 is 74.019, the text `74.019` is 74019.
--
-- Staging first prepares each distinct cell of a column once (`vi_cell`: blank or not, its text normalized; then
-- `vi_with_date` or `vi_with_number` for date and number columns), and the table's query types the prepared cells.
-- Each typing macro returns STRUCT(value, error): the typed value, or NULL and the reason in Vietnamese (the
-- staging query turns reasons into `invalid_row` findings). `vi_quoted` is the one rule written in Python
-- (`_quoted_cells` in assets/ingest/stage_in_sql.py): how a value is quoted in a message, called for failing cells only.

-- Text of nothing but whitespace (tabs, line breaks, no-break and other Unicode spaces: RE2's \s is ASCII only, so
-- they are listed; the same class as `str.strip()`, and as the reader's `WHITESPACE`).
CREATE OR REPLACE TEMP MACRO vi_blank_text(t) AS regexp_full_match(t, '[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]*');

-- Blank: an empty cell, or text of nothing but whitespace.
CREATE OR REPLACE TEMP MACRO vi_blank(cell) AS cell['type'] IS NULL OR (cell['type'] = 's' AND vi_blank_text(cell['text']));

-- NFC. DuckDB's nfc_normalize stops at a NUL character, so text is composed piece by piece between NULs. (`t` appears
-- once: a macro's argument is copied wherever it appears, and the tone rule passes a long expression.)
CREATE OR REPLACE TEMP MACRO vi_nfc(t) AS
    array_to_string(list_transform(string_split(t, chr(0)), lambda piece: nfc_normalize(piece)), chr(0));

-- One tone-mark placement: the old style puts the tone on the first vowel of a final `oa`, `oe`, `uy` (hòa, Ủy);
-- it moves to the second (hoà, Uỷ) when the pair ends the syllable (no letter or mark follows). Each such pair is
-- marked by two noncharacters (U+FDD0 U+FDD0; a U+FDD0 of the text itself is held as U+FDD0 U+FDD1 meanwhile),
-- then the first vowel loses its tone and the second gains it as a combining mark, which NFC composes again.
CREATE OR REPLACE TEMP MACRO vi_toned_first_vowels() AS 'òóõỏọÒÓÕỎỌùúũủụÙÚŨỦỤ';
CREATE OR REPLACE TEMP MACRO vi_new_style_tones(t) AS CASE
    WHEN NOT regexp_matches(t, '[òóõỏọÒÓÕỎỌùúũủụÙÚŨỦỤ][aAeEyY]') THEN t
    ELSE replace(vi_nfc(array_to_string(list_transform(
        string_split(regexp_replace(replace(t, chr(64976), chr(64976) || chr(64977)),
                                    '([òóõỏọÒÓÕỎỌùúũủụÙÚŨỦỤ][aAeEyY])([^\pL\pM]|$)', chr(64976) || chr(64976) || '\1\2', 'g'),
                     chr(64976) || chr(64976)),
        lambda piece, i: CASE WHEN i = 1 THEN piece ELSE
            translate(substr(piece, 1, 1), vi_toned_first_vowels(), 'oooooOOOOOuuuuuUUUUU') || substr(piece, 2, 1)
            || translate(substr(piece, 1, 1), vi_toned_first_vowels(), repeat(chr(768) || chr(769) || chr(771) || chr(777) || chr(803), 4))
            || substr(piece, 3) END), '')), chr(64976) || chr(64977), chr(64976))
END;

-- Text as displayed: NFC, one tone-mark placement, single spaces, trimmed; case is kept. Plain ASCII with single
-- spaces (ids, codes, numbers) is already all that.
CREATE OR REPLACE TEMP MACRO vi_normalize(t) AS CASE
    WHEN regexp_full_match(t, '[!-~]+( [!-~]+)*') THEN t
    ELSE trim(regexp_replace(vi_new_style_tones(vi_nfc(t)), '[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+', ' ', 'g'))
END;

-- The comparison key: normalized text, lower case.
CREATE OR REPLACE TEMP MACRO vi_key(t) AS lower(vi_normalize(t));

-- A cell prepared once for the rules: its text and type as held, whether it is blank, and `str`: the value as text
-- the way the rules read it (text normalized; a date with a space before its time; a number as Python writes it,
-- 74.019 or 1626.0). Fixed values compare `lower(str)`.
CREATE OR REPLACE TEMP MACRO vi_cell_str(cell) AS CASE
    WHEN vi_blank(cell) THEN NULL
    WHEN cell['type'] = 's' THEN vi_normalize(cell['text'])
    WHEN cell['type'] = 'd' THEN replace(cell['text'], 'T', ' ')
    ELSE cell['text']
END;

CREATE OR REPLACE TEMP MACRO vi_cell(cell) AS
    {'text': cell['text'], 'type': cell['type'], 'blank': vi_blank(cell), 'str': vi_cell_str(cell)};

-- A number cell written the way Python writes an integer (1626.0 -> 1626), other numbers as they are.
CREATE OR REPLACE TEMP MACRO vi_number_cell_text(t) AS
    CASE WHEN TRY_CAST(t AS DOUBLE) = floor(TRY_CAST(t AS DOUBLE)) THEN printf('%.0f', TRY_CAST(t AS DOUBLE)) ELSE t END;

-- Text: normalized; a number cell as above, a date cell in ISO form.
CREATE OR REPLACE TEMP MACRO vi_text(c) AS {'value': CASE
    WHEN c['blank'] THEN NULL
    WHEN c['type'] = 'n' THEN vi_number_cell_text(c['text'])
    WHEN c['type'] = 'd' THEN c['text']
    ELSE c['str']
END, 'error': NULL::VARCHAR};

-- An identifier (`1.004227`, a document number): text, never read as a quantity.
CREATE OR REPLACE TEMP MACRO vi_code(c) AS
    {'value': CASE WHEN c['type'] = 'n' THEN vi_number_cell_text(c['text']) ELSE c['str'] END, 'error': NULL::VARCHAR};

-- An agency name as written (matched against the registry later). The export's own total row names no agency.
CREATE OR REPLACE TEMP MACRO vi_agency_name(c, is_total) AS
    {'value': CASE WHEN is_total THEN NULL ELSE vi_text(c)['value'] END, 'error': NULL::VARCHAR};

-- Numbers written as text the Vietnamese way: `1.626` is 1626 (dots group thousands), `73,8` is 73.8 (the comma
-- is the decimal mark), a trailing `%` is dropped. Anything else is an error, never a guess (`1.5`).
CREATE OR REPLACE TEMP MACRO vi_number_text(t) AS rtrim(replace(t, ' ', ''), '%');

CREATE OR REPLACE TEMP MACRO vi_parse_number_text(t) AS CASE
    WHEN regexp_full_match(vi_number_text(t), '[+-]?\d{1,3}(\.\d{3})+(,\d+)?')
        THEN CAST(replace(replace(vi_number_text(t), '.', ''), ',', '.') AS DOUBLE)
    WHEN regexp_full_match(vi_number_text(t), '[+-]?\d+(,\d+)?')
        THEN CAST(replace(vi_number_text(t), ',', '.') AS DOUBLE)
END;

-- A prepared cell of a number column, with its number: a number cell is itself, text is read as above, yes/no is
-- no number.
CREATE OR REPLACE TEMP MACRO vi_with_number(c) AS struct_insert(c, number := CASE
    WHEN c['type'] = 'n' THEN TRY_CAST(c['text'] AS DOUBLE)
    WHEN c['type'] IN ('s', 'd') THEN vi_parse_number_text(c['str'])
END);

CREATE OR REPLACE TEMP MACRO vi_number(c) AS CASE
    WHEN c['blank'] THEN {'value': NULL::DOUBLE, 'error': NULL::VARCHAR}
    WHEN c['number'] IS NOT NULL THEN {'value': c['number'], 'error': NULL}
    WHEN c['type'] = 'b' THEN {'value': NULL, 'error': 'cần một số, gặp ' || vi_quoted(c['text'], c['type'])}
    ELSE {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không phải là số (số viết như 1.626 hoặc 73,8)'}
END;

CREATE OR REPLACE TEMP MACRO vi_integer(c) AS CASE
    WHEN c['blank'] OR c['number'] IS NULL THEN {'value': NULL::BIGINT, 'error': vi_number(c)['error']}
    WHEN c['number'] = floor(c['number']) AND abs(c['number']) < 9e18 THEN {'value': CAST(c['number'] AS BIGINT), 'error': NULL}
    ELSE {'value': NULL, 'error': 'cần một số nguyên, gặp ' || vi_quoted(c['text'], c['type'])}
END;

-- Dates: a date cell, an Excel serial number, or text `d/m/yyyy` (day first, always; `.` or `-` also separate)
-- with an optional time, or ISO `yyyy-mm-dd`. A time of day is dropped.
CREATE OR REPLACE TEMP MACRO vi_make_date(y, m, d) AS
    CASE WHEN CAST(y AS INTEGER) >= 1 THEN try(make_date(CAST(y AS INTEGER), CAST(m AS INTEGER), CAST(d AS INTEGER))) END;

CREATE OR REPLACE TEMP MACRO vi_excel_serial(x) AS
    CASE WHEN x >= 1 AND x < 2958466 THEN DATE '1899-12-30' + CAST(trunc(x) AS INTEGER) END;

CREATE OR REPLACE TEMP MACRO vi_parse_date_text(t) AS CASE
    WHEN regexp_full_match(t, '(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?')
        THEN vi_make_date(regexp_extract(t, '^\d{1,2}[/.-]\d{1,2}[/.-](\d{4})', 1),
                          regexp_extract(t, '^\d{1,2}[/.-](\d{1,2})', 1), regexp_extract(t, '^(\d{1,2})', 1))
    WHEN regexp_full_match(t, '(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?')
        THEN vi_make_date(substr(t, 1, 4), substr(t, 6, 2), substr(t, 9, 2))
    WHEN regexp_full_match(t, '\d+(\.0+)?') THEN vi_excel_serial(TRY_CAST(t AS DOUBLE))
END;

-- A prepared cell of a date column, with its date.
CREATE OR REPLACE TEMP MACRO vi_with_date(c) AS struct_insert(c, date := CASE
    WHEN c['type'] = 'd' THEN CAST(left(c['text'], 10) AS DATE)
    WHEN c['type'] = 'n' THEN vi_excel_serial(TRY_CAST(c['text'] AS DOUBLE))
    WHEN c['type'] IN ('s', 'b') THEN vi_parse_date_text(c['str'])
END);

CREATE OR REPLACE TEMP MACRO vi_date(c) AS CASE
    WHEN c['blank'] THEN {'value': NULL::DATE, 'error': NULL::VARCHAR}
    WHEN c['date'] IS NOT NULL THEN {'value': c['date'], 'error': NULL}
    WHEN c['type'] = 'n' THEN {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không phải là ngày (số ngày của Excel ngoài phạm vi)'}
    ELSE {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không phải là ngày (ngày/tháng/năm)'}
END;

-- Yes/no: `Có`/`Không`, `x`/blank, `1`/`0`, TRUE/FALSE, `Đã ký`/`Chưa ký`. Blank is no.
CREATE OR REPLACE TEMP MACRO vi_bool(c) AS CASE
    WHEN c['type'] = 'b' THEN {'value': c['text'] = 'True', 'error': NULL::VARCHAR}
    WHEN c['blank'] THEN {'value': false, 'error': NULL}
    WHEN c['type'] = 'n' AND TRY_CAST(c['text'] AS DOUBLE) IN (0, 1) THEN {'value': TRY_CAST(c['text'] AS DOUBLE) = 1, 'error': NULL}
    WHEN c['type'] <> 'n' AND lower(c['str']) IN ('có', 'x', '1', 'true', 'yes', 'đã ký', 'ký số') THEN {'value': true, 'error': NULL}
    WHEN c['type'] <> 'n' AND lower(c['str']) IN ('không', '0', 'false', 'no', 'chưa ký') THEN {'value': false, 'error': NULL}
    ELSE {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không phải là giá trị có/không'}
END;

-- A fixed-value column: every variant of `spec_choices` (from pipeline/lib/tablespecs.py) maps to its code;
-- a value outside them is the column's `other` code, or an error listing what is allowed.
CREATE OR REPLACE TEMP MACRO vi_choice_code(key, tbl, col) AS (
    SELECT any_value(code) FROM spec_choices s WHERE s.table_name = tbl AND s.column_name = col AND s.variant_key = key);

CREATE OR REPLACE TEMP MACRO vi_choice_rule(tbl, col) AS (
    SELECT {'allowed': any_value(allowed), 'other': any_value(other)} FROM spec_choice_columns c WHERE c.table_name = tbl AND c.column_name = col);

-- A prepared cell of a fixed-value column, with the code its text names (NULL: none).
CREATE OR REPLACE TEMP MACRO vi_with_code(c, tbl, col) AS struct_insert(c, code := vi_choice_code(lower(c['str']), tbl, col));

CREATE OR REPLACE TEMP MACRO vi_choice(c, tbl, col) AS CASE
    WHEN c['blank'] THEN {'value': NULL::VARCHAR, 'error': NULL::VARCHAR}
    WHEN c['code'] IS NOT NULL THEN {'value': c['code'], 'error': NULL}
    WHEN vi_choice_rule(tbl, col)['other'] IS NOT NULL THEN {'value': vi_choice_rule(tbl, col)['other'], 'error': NULL}
    ELSE {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không thuộc các giá trị cho phép ('
        || vi_choice_rule(tbl, col)['allowed'] || ')'}
END;

-- Languages: names or codes separated by `,` or `;`, each a choice; the codes in the spec's order, once each. A
-- prepared cell of a languages column holds them (`languages`, typed as the other rules type).
CREATE OR REPLACE TEMP MACRO vi_with_languages(c, tbl, col) AS struct_insert(c, languages := CASE
    WHEN c['blank'] THEN {'value': NULL::VARCHAR, 'error': NULL::VARCHAR}
    ELSE (
        SELECT {'value': nullif(array_to_string(list_transform(
                    list_sort(list_distinct(list({'position': s.position, 'code': s.code}) FILTER (s.code IS NOT NULL))),
                    lambda x: x['code']), ','), ''),
                'error': CASE WHEN count(*) FILTER (s.code IS NULL) > 0
                    THEN vi_quoted(arg_min(p.part, p.i) FILTER (s.code IS NULL), 's') || ' không thuộc các giá trị cho phép ('
                        || vi_choice_rule(tbl, col)['allowed'] || ')' END}
        FROM (SELECT unnest(string_split_regex(c['str'], '[,;]')) AS part, generate_subscripts(string_split_regex(c['str'], '[,;]'), 1) AS i) p
        LEFT JOIN spec_choices s ON s.table_name = tbl AND s.column_name = col AND s.variant_key = vi_key(p.part)
        WHERE NOT vi_blank_text(p.part))
END);

CREATE OR REPLACE TEMP MACRO vi_languages(c, tbl, col) AS c['languages'];

-- The service level 2, 3 or 4: a number, or text ending in the digit (`Mức độ 3`, `DVC mức độ 4`).
CREATE OR REPLACE TEMP MACRO vi_level(c) AS CASE
    WHEN c['blank'] THEN {'value': NULL::INTEGER, 'error': NULL::VARCHAR}
    WHEN c['type'] = 'b' THEN {'value': CAST(c['text'] = 'True' AS INTEGER), 'error': NULL}
    WHEN c['type'] = 'n' AND TRY_CAST(c['text'] AS DOUBLE) = floor(TRY_CAST(c['text'] AS DOUBLE))
        THEN {'value': CAST(TRY_CAST(c['text'] AS DOUBLE) AS INTEGER), 'error': NULL}
    WHEN regexp_matches(c['str'], '\d\s*$') THEN {'value': CAST(regexp_extract(c['str'], '(\d)\s*$', 1) AS INTEGER), 'error': NULL}
    ELSE {'value': NULL, 'error': vi_quoted(c['text'], c['type']) || ' không phải là mức độ dịch vụ (2, 3, 4, “Mức độ 3”…)'}
END;

-- Agency names as the registry compares them: the key, without a leading `Ủy ban nhân dân`/`UBND`, with `TP.`,
-- `TX.`, `TT.`, `H.`, `P.` at the start read in full.
CREATE OR REPLACE TEMP MACRO vi_agency_key(t) AS trim(regexp_replace(
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(vi_key(t), '^(ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+', ''),
        '^tp\.\s*', 'thành phố '), '^tx\.\s*', 'thị xã '), '^tt\.\s*', 'thị trấn '), '^h\.\s*', 'huyện '), '^p\.\s*', 'phường '),
    '\s+', ' ', 'g'));
