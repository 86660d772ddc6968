//! `data:`: a scenario's cases from the rows of a CSV or JSON file (what Newman's
//! `-d data.csv` and Karate's `Examples:` tables do), one case per row.

use std::path::Path;

use serde_json::Value as J;

use super::values::{Compiled, TEntry, TValue, Tpl};
use crate::diagnostic::Loc;

/// The largest data file read.
const MAX_DATA_BYTES: u64 = 16 * 1024 * 1024;

/// One row: column name -> value.
pub type Row = Vec<(String, TValue)>;

/// The rows of `rel` (relative to the scenario file `file`). Cells are values,
/// never templates: a `{{` in the data is text.
pub fn read_rows(file: &Path, rel: &str, loc: Loc, max_rows: usize) -> Result<Vec<Row>, String> {
    let path = file.parent().unwrap_or(Path::new(".")).join(rel);
    let bytes = super::read::read_capped(&path, MAX_DATA_BYTES)
        .map_err(|why| format!("cannot read data file `{}`: {why}", path.display()))?;
    let lower = rel.to_ascii_lowercase();
    let rows = if lower.ends_with(".csv") {
        csv_rows(&bytes, loc).map_err(|e| format!("data file `{}`: {e}", path.display()))?
    } else if lower.ends_with(".json") {
        json_rows(&bytes, loc).map_err(|e| format!("data file `{}`: {e}", path.display()))?
    } else {
        return Err(format!(
            "data file `{rel}`: write a .csv file (a header row, then one row per case) or a .json file (a list of objects)"
        ));
    };
    if rows.is_empty() {
        return Err(format!("data file `{}` has no rows", path.display()));
    }
    if rows.len() > max_rows {
        return Err(format!(
            "data file `{}` has {} rows; at most {max_rows} are run",
            path.display(),
            rows.len()
        ));
    }
    for row in &rows {
        for (k, _) in row {
            let ok = k
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!(
                    "data file `{}`: column `{k}` is not a variable name (letters, digits and _, not first a digit)",
                    path.display()
                ));
            }
        }
    }
    Ok(rows)
}

fn text(s: String, loc: Loc) -> TValue {
    TValue::Str(Tpl {
        src: s,
        loc,
        compiled: Compiled::Literal,
    })
}

fn csv_rows(bytes: &[u8], loc: Loc) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", i + 1))?;
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.clone(), text(v.to_string(), loc)))
                .collect(),
        );
    }
    Ok(rows)
}

fn json_rows(bytes: &[u8], loc: Loc) -> Result<Vec<Row>, String> {
    let doc: J = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let J::Array(items) = doc else {
        return Err("write a list of objects, one per case".into());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            J::Object(o) => Ok(o.into_iter().map(|(k, v)| (k, value(v, loc))).collect()),
            _ => Err(format!("row {} is not an object", i + 1)),
        })
        .collect()
}

fn value(v: J, loc: Loc) -> TValue {
    match v {
        J::Null => TValue::Null(loc),
        J::Bool(b) => TValue::Bool(b, loc),
        J::Number(n) => TValue::Num(n, loc, None),
        J::String(s) => text(s, loc),
        J::Array(a) => TValue::Seq(a.into_iter().map(|x| value(x, loc)).collect(), loc),
        J::Object(o) => TValue::Map(
            o.into_iter()
                .map(|(key, v)| TEntry {
                    key,
                    loc,
                    value: value(v, loc),
                })
                .collect(),
            loc,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(name: &str, content: &str) -> Result<Vec<Row>, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), content).unwrap();
        read_rows(&dir.path().join("s.yaml"), name, Loc::new(1, 1), 100)
    }

    fn shown(rows: &[Row]) -> Vec<Vec<(String, Option<J>)>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| (k.clone(), v.as_literal_json()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn csv_and_json_rows() {
        let csv = rows(
            "d.csv",
            "\u{feff}user, plan\nann,pro\n\"b, c\",\"{{ x }}\"\n",
        )
        .unwrap();
        assert_eq!(
            shown(&csv),
            vec![
                vec![
                    ("user".into(), Some(J::from("ann"))),
                    ("plan".into(), Some(J::from("pro")))
                ],
                vec![
                    ("user".into(), Some(J::from("b, c"))),
                    ("plan".into(), Some(J::from("{{ x }}")))
                ],
            ]
        );
        let json = rows("d.json", r#"[{"n": 1, "ok": true, "tags": ["a"]}]"#).unwrap();
        assert_eq!(
            shown(&json),
            vec![vec![
                ("n".into(), Some(J::from(1))),
                ("ok".into(), Some(J::from(true))),
                ("tags".into(), Some(serde_json::json!(["a"])))
            ]]
        );
    }

    #[test]
    fn bad_data_files_say_why() {
        for (name, content, want) in [
            ("d.csv", "a\n", "has no rows"),
            ("d.json", "{}", "a list of objects"),
            ("d.json", "[1]", "row 1 is not an object"),
            ("d.csv", "my col\nx\n", "not a variable name"),
            ("d.txt", "x", "write a .csv file"),
            ("d.csv", "a,b\n1,2,3\n", "row 1"),
        ] {
            let err = rows(name, content).unwrap_err();
            assert!(err.contains(want), "{name} {content:?}: {err}");
        }
        let many = format!("a\n{}", "1\n".repeat(101));
        assert!(rows("d.csv", &many).unwrap_err().contains("at most 100"));
    }
}
