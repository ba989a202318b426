//! What the SQL front end adds to DataFusion's: splitting scripts into statements, and Spark's
//! `CREATE TEMPORARY VIEW ... USING <format> OPTIONS (...)`, which DataFusion's dialect lacks.

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlContextExt;
use ember_core::Context;

/// The statements of `script`, split at `;` outside quotes and comments, trimmed, empty ones
/// dropped: how `spark-sql -f` and `-e` read several statements.
///
/// ```
/// let parts = ember_sql::split_statements("SELECT ';' AS a; -- a; comment\nSELECT 2;;");
/// assert_eq!(parts, ["SELECT ';' AS a", "-- a; comment\nSELECT 2"]);
/// ```
pub fn split_statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' || c == '`' => {
                quote = Some(c);
                current.push(c);
            }
            None if c == '-' && chars.peek() == Some(&'-') => {
                // A comment runs to the end of the line.
                current.push(c);
                for c in chars.by_ref() {
                    current.push(c);
                    if c == '\n' {
                        break;
                    }
                }
            }
            None if c == ';' => statements.push(std::mem::take(&mut current)),
            None => current.push(c),
        }
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Words, quoted strings and punctuation of a statement.
fn tokens(statement: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = statement.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' || c == '"' || c == '`' {
            chars.next();
            let text: String = chars.by_ref().take_while(|&x| x != c).collect();
            tokens.push(format!("{c}{text}"));
        } else if "(),=".contains(c) {
            tokens.push(chars.next().map(String::from).unwrap_or_default());
        } else {
            let mut word = String::new();
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() || "(),='\"`".contains(x) {
                    break;
                }
                word.push(x);
                chars.next();
            }
            tokens.push(word);
        }
    }
    tokens
}

/// A token's text: a quoted string without its opening quote, a word as it is.
fn unquoted(token: &str) -> &str {
    token.strip_prefix(['\'', '"', '`']).unwrap_or(token)
}

/// Spark's `CREATE [OR REPLACE] TEMPORARY VIEW name USING format OPTIONS (key 'value', ...)`.
#[derive(Debug, PartialEq)]
pub(crate) struct TemporaryView {
    name: String,
    format: String,
    options: Vec<(String, String)>,
}

impl TemporaryView {
    /// The view `statement` creates, if it is such a statement.
    ///
    /// # Errors
    /// It is one, but malformed.
    pub(crate) fn parse(statement: &str) -> Result<Option<Self>> {
        let tokens = tokens(statement);
        let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
        let mut at = 0;
        let mut expect = |words: &[&str]| {
            let matches = upper.get(at..at + words.len()).is_some_and(|w| w == words);
            if matches {
                at += words.len();
            }
            matches
        };
        if !expect(&["CREATE"]) {
            return Ok(None);
        }
        expect(&["OR", "REPLACE"]);
        if !(expect(&["TEMPORARY", "VIEW"]) || expect(&["TEMP", "VIEW"])) {
            return Ok(None);
        }
        let name = tokens.get(at).map(|t| unquoted(t).to_string());
        if upper.get(at + 1).is_none_or(|t| t != "USING") {
            // CREATE TEMPORARY VIEW ... AS SELECT: DataFusion's to run.
            return Ok(None);
        }
        let malformed = || {
            Error::Input(format!(
                "cannot read {statement:?}: expected CREATE TEMPORARY VIEW <name> USING \
                 <format> OPTIONS (path '<path>', ...)"
            ))
        };
        let name = name.ok_or_else(malformed)?;
        let format = tokens.get(at + 2).ok_or_else(malformed)?.clone();
        let mut options = Vec::new();
        let rest = &tokens[(at + 3).min(tokens.len())..];
        if let Some((first, list)) = rest.split_first() {
            if !first.eq_ignore_ascii_case("OPTIONS")
                || list.first().map(String::as_str) != Some("(")
            {
                return Err(malformed());
            }
            let inner = list[1..].split(|t| t == ")").next().unwrap_or_default();
            for pair in inner.split(|t| t == ",") {
                let pair: Vec<&String> = pair.iter().filter(|t| *t != "=").collect();
                match pair.as_slice() {
                    [key, value] => {
                        options.push((unquoted(key).to_string(), unquoted(value).to_string()))
                    }
                    _ => return Err(malformed()),
                }
            }
        }
        Ok(Some(TemporaryView {
            name,
            format,
            options,
        }))
    }

    /// Reads the view's files and registers it; an empty DataFrame, as DDL gives.
    pub(crate) fn create(self, ctx: &Context) -> Result<DataFrame> {
        let mut reader = ctx.read();
        let mut path = None;
        for (key, value) in &self.options {
            if key.eq_ignore_ascii_case("path") {
                path = Some(value.clone());
            } else {
                reader = reader.option(key, value);
            }
        }
        let path = path.ok_or_else(|| {
            Error::Input(format!(
                "temporary view {} has no path: add OPTIONS (path '<path>')",
                self.name
            ))
        })?;
        reader
            .format(&self.format, &path)?
            .create_or_replace_temp_view(&self.name)?;
        ctx.sql("SELECT 1 WHERE false")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparks_create_temporary_view_using_is_read() {
        let view = TemporaryView::parse(
            "create or replace temporary view t USING csv OPTIONS (path '/d/x.csv', header = \"true\")",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            view,
            TemporaryView {
                name: "t".into(),
                format: "csv".into(),
                options: vec![
                    ("path".into(), "/d/x.csv".into()),
                    ("header".into(), "true".into())
                ],
            }
        );
        assert!(TemporaryView::parse("CREATE TEMPORARY VIEW v AS SELECT 1")
            .unwrap()
            .is_none());
        assert!(TemporaryView::parse("SELECT 1").unwrap().is_none());
        let err =
            TemporaryView::parse("CREATE TEMP VIEW v USING parquet OPTIONS path").unwrap_err();
        assert!(
            err.to_string().contains("expected CREATE TEMPORARY VIEW"),
            "{err}"
        );
    }
}
