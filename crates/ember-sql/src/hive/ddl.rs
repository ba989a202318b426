//! Reading the statements that write metastore tables, in Spark's and Hive's syntax:
//!
//! ```sql
//! CREATE TABLE [IF NOT EXISTS] [db.]name [(col type [COMMENT '...'], ...)]
//!     [USING parquet|orc] [PARTITIONED BY (col [type], ...)]
//!     [ROW FORMAT DELIMITED [FIELDS TERMINATED BY 'c'] [COLLECTION ITEMS TERMINATED BY 'c']
//!         [MAP KEYS TERMINATED BY 'c'] [ESCAPED BY 'c']] [STORED AS PARQUET|ORC|TEXTFILE]
//!     [AS query]
//! INSERT {INTO|OVERWRITE} [TABLE] [db.]name [PARTITION (col [= value], ...)] query
//! ```
//!
//! Column types are Hive's names, kept as written (lowercased) for the metastore; the query is
//! left to DataFusion.

use crate::error::{Error, Result};

/// How a created table's files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredAs {
    Parquet,
    Orc,
    TextFile,
}

/// `CREATE TABLE`, read.
#[derive(Debug, PartialEq)]
pub(crate) struct CreateTable {
    pub(crate) name: String,
    pub(crate) if_not_exists: bool,
    /// (name, Hive type) of the data columns; empty for `AS query` without a column list.
    pub(crate) columns: Vec<(String, String)>,
    /// Partition columns: (name, Hive type), the type `None` where it is the column list's.
    pub(crate) partitioned_by: Vec<(String, Option<String>)>,
    pub(crate) stored_as: StoredAs,
    /// `FIELDS TERMINATED BY`, `COLLECTION ITEMS TERMINATED BY` and `MAP KEYS TERMINATED
    /// BY`, for text.
    pub(crate) field_delimiter: Option<String>,
    pub(crate) collection_delimiter: Option<String>,
    pub(crate) map_key_delimiter: Option<String>,
    /// `ESCAPED BY`, for text.
    pub(crate) escape: Option<String>,
    pub(crate) query: Option<String>,
}

/// `INSERT INTO` or `INSERT OVERWRITE`, read.
#[derive(Debug, PartialEq)]
pub(crate) struct Insert {
    pub(crate) table: String,
    pub(crate) overwrite: bool,
    /// `PARTITION (...)`: a value for a static partition column, none for a dynamic one.
    pub(crate) partition: Vec<(String, Option<String>)>,
    pub(crate) query: String,
}

/// `CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] name` and `DROP TABLE [IF EXISTS] name`.
#[derive(Debug, PartialEq)]
pub(crate) enum Ddl {
    CreateDatabase { name: String, if_not_exists: bool },
    DropTable { name: String, if_exists: bool },
}

impl Ddl {
    /// The statement `statement` is, if it is one of these.
    pub(crate) fn parse(statement: &str) -> Option<Self> {
        let mut cursor = Cursor {
            text: statement,
            at: 0,
        };
        let ddl =
            if cursor.keywords(&["CREATE", "DATABASE"]) || cursor.keywords(&["CREATE", "SCHEMA"]) {
                let if_not_exists = cursor.keywords(&["IF", "NOT", "EXISTS"]);
                Ddl::CreateDatabase {
                    name: cursor.name()?,
                    if_not_exists,
                }
            } else if cursor.keywords(&["DROP", "TABLE"]) {
                let if_exists = cursor.keywords(&["IF", "EXISTS"]);
                Ddl::DropTable {
                    name: cursor.name()?,
                    if_exists,
                }
            } else {
                return None;
            };
        cursor.rest().trim().is_empty().then_some(ddl)
    }
}

/// A cursor over a statement's text.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Consumes the words `words` (any case, whole words) if they come next.
    fn keywords(&mut self, words: &[&str]) -> bool {
        let start = self.at;
        for word in words {
            self.skip_spaces();
            let rest = self.rest();
            let matches = rest.len() >= word.len()
                && rest[..word.len()].eq_ignore_ascii_case(word)
                && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if !matches {
                self.at = start;
                return false;
            }
            self.at += word.len();
        }
        true
    }

    /// A name: words joined by dots, each bare or in backquotes (kept without them).
    fn name(&mut self) -> Option<String> {
        self.skip_spaces();
        let mut name = String::new();
        loop {
            let rest = self.rest();
            if let Some(quoted) = rest.strip_prefix('`') {
                let end = quoted.find('`')?;
                name.push_str(&quoted[..end]);
                self.at += end + 2;
            } else {
                let len = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if len == 0 {
                    return None;
                }
                name.push_str(&rest[..len]);
                self.at += len;
            }
            if !self.rest().starts_with('.') {
                return Some(name);
            }
            name.push('.');
            self.at += 1;
        }
    }

    /// A quoted string, without its quotes.
    fn string(&mut self) -> Option<String> {
        self.skip_spaces();
        let quote = self
            .rest()
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')?;
        let body = &self.rest()[1..];
        let end = body.find(quote)?;
        self.at += end + 2;
        Some(unescape(&body[..end]))
    }

    /// The text inside a parenthesis that comes next, up to the one matching it.
    fn parenthesized(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        if !self.rest().starts_with('(') {
            return None;
        }
        let start = self.at + 1;
        let mut depth = 0;
        let mut quote = None;
        for (i, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"' | '`') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        let end = self.at + i;
                        self.at = end + 1;
                        return Some(&self.text[start..end]);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// A SQL string literal's escapes (`'\t'`, `'\001'`, `'\\'`) as the characters they stand
/// for, as Spark's parser reads them.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(d) if d.is_digit(8) => {
                let mut code = d.to_digit(8).unwrap_or(0);
                while let Some(next) = chars.peek().and_then(|c| c.to_digit(8)) {
                    code = code * 8 + next;
                    chars.next();
                }
                out.extend(char::from_u32(code));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `text` split at commas outside parentheses, angle brackets and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(' | '<') => depth += 1,
            (None, ')' | '>') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// `name type [COMMENT '...']` of a column list; the type `None` when only the name is given.
fn column(definition: &str) -> Option<(String, Option<String>)> {
    let mut cursor = Cursor {
        text: definition,
        at: 0,
    };
    let name = cursor.name()?;
    let rest = cursor.rest().trim();
    let upper = rest.to_ascii_uppercase();
    let data_type = match upper
        .find(" COMMENT ")
        .or(upper.find("COMMENT ").filter(|i| *i == 0))
    {
        Some(at) => rest[..at].trim(),
        None => rest,
    };
    let data_type =
        (!data_type.is_empty()).then(|| data_type.to_ascii_lowercase().replace(' ', ""));
    Some((name, data_type))
}

fn columns(list: &str) -> Option<Vec<(String, Option<String>)>> {
    split_top_level(list).into_iter().map(column).collect()
}

fn format_named(name: &str) -> Option<StoredAs> {
    match name.to_ascii_lowercase().as_str() {
        "parquet" => Some(StoredAs::Parquet),
        "orc" => Some(StoredAs::Orc),
        "textfile" | "text" => Some(StoredAs::TextFile),
        _ => None,
    }
}

impl CreateTable {
    /// The `CREATE TABLE` `statement` is, if it is one (not `CREATE TEMPORARY ...` or
    /// `CREATE EXTERNAL TABLE`, which are DataFusion's).
    ///
    /// # Errors
    /// It is one, but malformed or of a storage ember does not write.
    pub(crate) fn parse(statement: &str) -> Result<Option<Self>> {
        let mut cursor = Cursor {
            text: statement,
            at: 0,
        };
        if !cursor.keywords(&["CREATE", "TABLE"]) {
            return Ok(None);
        }
        let malformed = |what: &str| {
            Error::Input(format!(
                "cannot read {statement:?}: {what}; expected CREATE TABLE [IF NOT EXISTS] \
                 <name> [(<column> <type>, ...)] [PARTITIONED BY (<column> [<type>], ...)] \
                 [STORED AS PARQUET|ORC|TEXTFILE] [AS <query>]"
            ))
        };
        let if_not_exists = cursor.keywords(&["IF", "NOT", "EXISTS"]);
        let name = cursor.name().ok_or_else(|| malformed("no table name"))?;
        let mut create = CreateTable {
            name,
            if_not_exists,
            columns: Vec::new(),
            partitioned_by: Vec::new(),
            stored_as: StoredAs::Parquet,
            field_delimiter: None,
            collection_delimiter: None,
            map_key_delimiter: None,
            escape: None,
            query: None,
        };
        if let Some(list) = cursor.parenthesized() {
            for (name, data_type) in columns(list).ok_or_else(|| malformed("a bad column list"))? {
                let data_type =
                    data_type.ok_or_else(|| malformed(&format!("column {name} has no type")))?;
                create.columns.push((name, data_type));
            }
        }
        loop {
            if cursor.keywords(&["USING"]) || cursor.keywords(&["STORED", "AS"]) {
                let format = cursor.name().unwrap_or_default();
                create.stored_as = format_named(&format).ok_or_else(|| {
                    Error::Input(format!(
                        "ember writes tables stored as PARQUET, ORC or TEXTFILE, not {format}"
                    ))
                })?;
            } else if cursor.keywords(&["PARTITIONED", "BY"]) {
                let list = cursor
                    .parenthesized()
                    .ok_or_else(|| malformed("PARTITIONED BY needs (...)"))?;
                create.partitioned_by =
                    columns(list).ok_or_else(|| malformed("a bad partition list"))?;
            } else if cursor.keywords(&["ROW", "FORMAT", "DELIMITED"]) {
                let clauses: [(&[&str], &mut Option<String>); 4] = [
                    (&["FIELDS", "TERMINATED", "BY"], &mut create.field_delimiter),
                    (
                        &["COLLECTION", "ITEMS", "TERMINATED", "BY"],
                        &mut create.collection_delimiter,
                    ),
                    (
                        &["MAP", "KEYS", "TERMINATED", "BY"],
                        &mut create.map_key_delimiter,
                    ),
                    (&["ESCAPED", "BY"], &mut create.escape),
                ];
                for (words, delimiter) in clauses {
                    if cursor.keywords(words) {
                        let text = cursor
                            .string()
                            .ok_or_else(|| malformed("TERMINATED BY needs a string"))?;
                        *delimiter = Some(text);
                    }
                }
            } else if cursor.keywords(&["AS"]) {
                create.query = Some(cursor.rest().trim().to_string());
                break;
            } else if cursor.rest().trim().is_empty() {
                break;
            } else {
                return Err(malformed(&format!(
                    "cannot read {:?}",
                    cursor.rest().trim()
                )));
            }
        }
        if create.columns.is_empty() && create.query.is_none() {
            return Err(malformed("a table needs columns or AS <query>"));
        }
        Ok(Some(create))
    }
}

impl Insert {
    /// The `INSERT` `statement` is, if it is one.
    ///
    /// # Errors
    /// It is one, but malformed.
    pub(crate) fn parse(statement: &str) -> Result<Option<Self>> {
        let mut cursor = Cursor {
            text: statement,
            at: 0,
        };
        let overwrite = if cursor.keywords(&["INSERT", "INTO"]) {
            false
        } else if cursor.keywords(&["INSERT", "OVERWRITE"]) {
            true
        } else {
            return Ok(None);
        };
        let malformed = || {
            Error::Input(format!(
                "cannot read {statement:?}: expected INSERT INTO|OVERWRITE [TABLE] <name> \
                 [PARTITION (<column> [= <value>], ...)] <query>"
            ))
        };
        cursor.keywords(&["TABLE"]);
        let table = cursor.name().ok_or_else(malformed)?;
        let mut partition = Vec::new();
        if cursor.keywords(&["PARTITION"]) {
            let list = cursor.parenthesized().ok_or_else(malformed)?;
            for entry in split_top_level(list) {
                let (name, value) = match entry.split_once('=') {
                    Some((name, value)) => {
                        let value = value.trim();
                        let mut literal = Cursor { text: value, at: 0 };
                        let value = literal.string().unwrap_or_else(|| value.to_string());
                        (name.trim(), Some(value))
                    }
                    None => (entry, None),
                };
                partition.push((name.trim_matches('`').to_string(), value));
            }
        }
        let query = cursor.rest().trim().to_string();
        if query.is_empty() {
            return Err(malformed());
        }
        Ok(Some(Insert {
            table,
            overwrite,
            partition,
            query,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_and_spark_create_table_are_read() {
        let create = CreateTable::parse(
            "create table if not exists shop.t (id INT COMMENT 'the id', price decimal(10, 2), \
             attrs MAP<STRING, INT>) PARTITIONED BY (ds string, h int) \
             ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' COLLECTION ITEMS TERMINATED BY '\\002' \
             MAP KEYS TERMINATED BY ':' ESCAPED BY '\\\\' STORED AS TEXTFILE",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            create,
            CreateTable {
                name: "shop.t".into(),
                if_not_exists: true,
                columns: vec![
                    ("id".into(), "int".into()),
                    ("price".into(), "decimal(10,2)".into()),
                    ("attrs".into(), "map<string,int>".into())
                ],
                partitioned_by: vec![
                    ("ds".into(), Some("string".into())),
                    ("h".into(), Some("int".into()))
                ],
                stored_as: StoredAs::TextFile,
                field_delimiter: Some("\t".into()),
                collection_delimiter: Some("\u{2}".into()),
                map_key_delimiter: Some(":".into()),
                escape: Some("\\".into()),
                query: None,
            }
        );
        let ctas = CreateTable::parse(
            "CREATE TABLE t USING orc PARTITIONED BY (ds) AS SELECT 1 AS a, 'x' AS ds",
        )
        .unwrap()
        .unwrap();
        assert_eq!(ctas.stored_as, StoredAs::Orc);
        assert_eq!(ctas.partitioned_by, vec![("ds".into(), None)]);
        assert_eq!(ctas.query.as_deref(), Some("SELECT 1 AS a, 'x' AS ds"));
        assert_eq!(
            CreateTable::parse("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 'x'").unwrap(),
            None
        );
        let err = CreateTable::parse("CREATE TABLE t (a int) STORED AS AVRO").unwrap_err();
        assert!(
            err.to_string()
                .contains("PARQUET, ORC or TEXTFILE, not AVRO"),
            "{err}"
        );
        assert!(CreateTable::parse("CREATE TABLE t").is_err());
    }

    #[test]
    fn databases_are_created_and_tables_dropped() {
        assert_eq!(
            Ddl::parse("create schema if not exists `w`"),
            Some(Ddl::CreateDatabase {
                name: "w".into(),
                if_not_exists: true
            })
        );
        assert_eq!(
            Ddl::parse("DROP TABLE w.t"),
            Some(Ddl::DropTable {
                name: "w.t".into(),
                if_exists: false
            })
        );
        assert_eq!(Ddl::parse("DROP TABLE w.t PURGE extra"), None);
    }

    #[test]
    fn inserts_with_static_and_dynamic_partitions_are_read() {
        let insert = Insert::parse(
            "INSERT OVERWRITE TABLE shop.sales PARTITION (ds = '2024-01-01', h) SELECT id, amount, h FROM s",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            insert,
            Insert {
                table: "shop.sales".into(),
                overwrite: true,
                partition: vec![("ds".into(), Some("2024-01-01".into())), ("h".into(), None)],
                query: "SELECT id, amount, h FROM s".into(),
            }
        );
        let values = Insert::parse("insert into t values (1, 'a')")
            .unwrap()
            .unwrap();
        assert_eq!(
            (values.table.as_str(), values.query.as_str()),
            ("t", "values (1, 'a')")
        );
        assert!(Insert::parse("INSERT INTO t").is_err());
        assert_eq!(Insert::parse("SELECT 1").unwrap(), None);
    }
}
