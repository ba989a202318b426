//! What the SQL front end adds to DataFusion's: splitting scripts into statements, Spark's
//! `CREATE TEMPORARY VIEW ... USING <format> OPTIONS (...)`, which DataFusion's dialect lacks,
//! and Spark's catalog commands (`SHOW DATABASES`, `SHOW TABLES`, `USE`).

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::hive::{hive_type, HiveTable};
use crate::session::{SqlContextExt, SqlSession};
use datafusion::arrow::array::{ArrayRef, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use ember_core::Context;
use std::sync::Arc;

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
        if !FILE_FORMATS.contains(&self.format.to_ascii_lowercase().as_str()) {
            for (key, value) in &self.options {
                reader = reader.option(key, value);
            }
            reader
                .load(&self.format)?
                .create_or_replace_temp_view(&self.name)?;
            return ctx.sql("SELECT 1 WHERE false");
        }
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

/// The formats read from a path; any other is looked up among the registered formats.
const FILE_FORMATS: [&str; 5] = ["csv", "json", "parquet", "orc", "text"];

/// Spark's `CREATE [OR REPLACE] TEMPORARY VIEW name AS query`, which DataFusion refuses.
#[derive(Debug, PartialEq)]
pub(crate) struct QueryView {
    name: String,
    query: String,
    replace: bool,
}

impl QueryView {
    /// The view `statement` creates, if it is such a statement.
    pub(crate) fn parse(statement: &str) -> Option<Self> {
        let tokens = tokens(statement);
        let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
        let words: Vec<&str> = upper.iter().map(String::as_str).collect();
        let (replace, name) = match words.as_slice() {
            ["CREATE", "OR", "REPLACE", "TEMPORARY" | "TEMP", "VIEW", _, "AS", _, ..] => {
                (true, &tokens[5])
            }
            ["CREATE", "TEMPORARY" | "TEMP", "VIEW", _, "AS", _, ..] => (false, &tokens[3]),
            _ => return None,
        };
        // The query is the text after the first word `AS` that follows the name.
        let lower = statement.to_ascii_lowercase();
        let view = lower.find("view")? + "view".len();
        let after_name = view + lower[view..].find(&name.to_ascii_lowercase())? + name.len();
        let bytes = lower.as_bytes();
        let boundary = |i: usize| {
            bytes
                .get(i)
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        };
        let at = (after_name..lower.len().saturating_sub(1)).find(|&i| {
            &lower[i..i + 2] == "as" && boundary(i + 2) && (i == 0 || boundary(i - 1))
        })?;
        Some(QueryView {
            name: unquoted(name).to_string(),
            query: statement[at + 2..].trim().to_string(),
            replace,
        })
    }

    /// Plans the query and registers it under the view's name; an empty DataFrame, as DDL
    /// gives.
    pub(crate) fn create(self, ctx: &Context) -> Result<DataFrame> {
        let session = SqlSession::of(ctx);
        if !self.replace && session.datafusion.table_exist(self.name.as_str())? {
            return Err(Error::Input(format!(
                "[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `{}` \
                 because it already exists. Choose a different name, drop or replace the \
                 existing view (CREATE OR REPLACE TEMPORARY VIEW).",
                self.name
            )));
        }
        ctx.sql(&self.query)?
            .create_or_replace_temp_view(&self.name)?;
        ctx.sql("SELECT 1 WHERE false")
    }
}

/// Spark's catalog commands that DataFusion's SQL lacks or answers otherwise: `SHOW
/// DATABASES`, `SHOW TABLES`, `USE`, `DESCRIBE`.
#[derive(Debug, PartialEq)]
pub(crate) enum CatalogCommand {
    /// `SHOW {DATABASES|SCHEMAS|NAMESPACES} [[LIKE] 'pattern']`: one column `namespace`.
    ShowDatabases { pattern: Option<String> },
    /// `SHOW TABLES [{IN|FROM} db] [[LIKE] 'pattern']`: columns `namespace`, `tableName`,
    /// `isTemporary`, the temporary views with an empty namespace.
    ShowTables {
        database: Option<String>,
        pattern: Option<String>,
    },
    /// `USE [DATABASE|SCHEMA|NAMESPACE] db`: bare table names then name db's tables.
    Use { database: String },
    /// `{DESCRIBE|DESC} [TABLE] [EXTENDED|FORMATTED] name`: columns `col_name`, `data_type`
    /// (Hive's names), `comment`, then Spark's `# Partition Information` section.
    Describe { table: String },
}

impl CatalogCommand {
    /// The command `statement` is, if it is one.
    ///
    /// # Errors
    /// It is one, but malformed.
    pub(crate) fn parse(statement: &str) -> Result<Option<Self>> {
        let tokens = tokens(statement);
        let upper: Vec<String> = tokens.iter().map(|t| t.to_ascii_uppercase()).collect();
        let words: Vec<&str> = upper.iter().map(String::as_str).collect();
        let malformed =
            |shape: &str| Error::Input(format!("cannot read {statement:?}: expected {shape}"));
        // An optional `[LIKE] 'pattern'` at `at`, which must end the statement.
        let pattern = |at: usize, shape: &str| -> Result<Option<String>> {
            let at = at + usize::from(words.get(at) == Some(&"LIKE"));
            match tokens.get(at..) {
                Some([]) | None => Ok(None),
                Some([p]) if p.starts_with(['\'', '"']) => Ok(Some(unquoted(p).to_string())),
                _ => Err(malformed(shape)),
            }
        };
        Ok(Some(match words.as_slice() {
            ["SHOW", "DATABASES" | "SCHEMAS" | "NAMESPACES", ..] => CatalogCommand::ShowDatabases {
                pattern: pattern(2, "SHOW DATABASES [LIKE 'pattern']")?,
            },
            ["SHOW", "TABLES", "IN" | "FROM", _, ..] => CatalogCommand::ShowTables {
                database: Some(unquoted(&tokens[3]).to_string()),
                pattern: pattern(4, "SHOW TABLES [IN <database>] [LIKE 'pattern']")?,
            },
            ["SHOW", "TABLES", ..] => CatalogCommand::ShowTables {
                database: None,
                pattern: pattern(2, "SHOW TABLES [IN <database>] [LIKE 'pattern']")?,
            },
            ["USE", "DATABASE" | "SCHEMA" | "NAMESPACE", _] | ["USE", _] => CatalogCommand::Use {
                database: unquoted(&tokens[tokens.len() - 1]).to_string(),
            },
            ["USE", ..] => return Err(malformed("USE <database>")),
            ["DESCRIBE" | "DESC", rest @ ..] => {
                let skip = rest
                    .iter()
                    .take_while(|w| matches!(**w, "TABLE" | "EXTENDED" | "FORMATTED"))
                    .count();
                match tokens.get(1 + skip..) {
                    Some([table]) => CatalogCommand::Describe {
                        table: unquoted(table).to_string(),
                    },
                    _ => return Err(malformed("DESCRIBE [TABLE] <name>")),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Runs the command: rows for SHOW, an empty DataFrame for USE.
    pub(crate) fn run(self, ctx: &Context, session: &SqlSession) -> Result<DataFrame> {
        match self {
            CatalogCommand::ShowDatabases { pattern } => {
                let mut names = databases(session)?;
                names.retain(|n| pattern.as_deref().is_none_or(|p| spark_like(p, n)));
                names.sort();
                let schema = Schema::new(vec![Field::new("namespace", DataType::Utf8, false)]);
                let batch = RecordBatch::try_new(
                    Arc::new(schema),
                    vec![Arc::new(StringArray::from(names))],
                )?;
                ctx.create_data_frame(vec![batch])
            }
            CatalogCommand::ShowTables { database, pattern } => {
                let database = database.unwrap_or_else(|| current_database(session));
                let mut rows = tables(session, &database)?;
                rows.retain(|(_, name, _)| pattern.as_deref().is_none_or(|p| spark_like(p, name)));
                rows.sort();
                let schema = Schema::new(vec![
                    Field::new("namespace", DataType::Utf8, false),
                    Field::new("tableName", DataType::Utf8, false),
                    Field::new("isTemporary", DataType::Boolean, false),
                ]);
                let column = |f: fn(&(String, String, bool)) -> &str| {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as ArrayRef
                };
                let temporary: BooleanArray = rows.iter().map(|r| Some(r.2)).collect();
                let batch = RecordBatch::try_new(
                    Arc::new(schema),
                    vec![column(|r| &r.0), column(|r| &r.1), Arc::new(temporary)],
                )?;
                ctx.create_data_frame(vec![batch])
            }
            CatalogCommand::Use { database } => {
                if !databases(session)?.contains(&database) {
                    return Err(schema_not_found(&database));
                }
                let state = session.datafusion.state_ref();
                state
                    .write()
                    .config_mut()
                    .options_mut()
                    .catalog
                    .default_schema = database;
                ctx.sql("SELECT 1 WHERE false")
            }
            CatalogCommand::Describe { table } => describe(ctx, session, &table),
        }
    }
}

/// Spark's error for a database that does not exist.
pub(crate) fn schema_not_found(database: &str) -> Error {
    Error::Input(format!(
        "[SCHEMA_NOT_FOUND] The schema `{database}` cannot be found. Verify the spelling and \
         correctness of the schema and catalog (SHOW DATABASES lists them)."
    ))
}

/// Spark's error for a table that does not exist.
pub(crate) fn table_not_found(database: &str, table: &str) -> Error {
    Error::Input(format!(
        "[TABLE_OR_VIEW_NOT_FOUND] The table or view `{database}`.`{table}` cannot be found. \
         Verify the spelling and correctness of the schema and catalog (SHOW TABLES IN \
         {database} lists its tables)."
    ))
}

/// The database and table `name` (`table`, `db.table` or `catalog.db.table`) names, a bare
/// name in the current database.
pub(crate) fn qualified(session: &SqlSession, name: &str) -> (String, String) {
    match name.rsplit_once('.') {
        Some((db, table)) => {
            let db = db.rsplit('.').next().unwrap_or(db);
            (db.to_string(), table.to_string())
        }
        None => (current_database(session), name.to_string()),
    }
}

/// Spark's `DESCRIBE`: each column's name, Hive type and comment (none), then the partition
/// columns under `# Partition Information`.
fn describe(ctx: &Context, session: &SqlSession, name: &str) -> Result<DataFrame> {
    // One lookup: a metastore table's provider knows its partition columns.
    let provider = session.block_on(session.datafusion.table_provider(name))?;
    let any: &dyn std::any::Any = provider.as_ref();
    let partitions = any
        .downcast_ref::<HiveTable>()
        .map(|t| t.partition_columns().to_vec())
        .unwrap_or_default();
    let columns = provider.schema();
    let type_name = |t: &DataType| hive_type(t).unwrap_or_else(|_| t.to_string());
    let mut rows: Vec<(String, String, Option<String>)> = columns
        .fields()
        .iter()
        .map(|f| (f.name().clone(), type_name(f.data_type()), None))
        .collect();
    if !partitions.is_empty() {
        rows.push((
            "# Partition Information".into(),
            String::new(),
            Some(String::new()),
        ));
        rows.push((
            "# col_name".into(),
            "data_type".into(),
            Some("comment".into()),
        ));
        rows.extend(
            partitions
                .iter()
                .map(|f| (f.name().clone(), type_name(f.data_type()), None)),
        );
    }
    let schema = Schema::new(vec![
        Field::new("col_name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("comment", DataType::Utf8, true),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))),
            Arc::new(rows.iter().map(|r| r.2.as_deref()).collect::<StringArray>()),
        ],
    )?;
    ctx.create_data_frame(vec![batch])
}

/// The database bare table names are looked up in.
fn current_database(session: &SqlSession) -> String {
    session
        .datafusion
        .state()
        .config()
        .options()
        .catalog
        .default_schema
        .clone()
}

/// The metastore's databases, or the in-memory catalog's schemas.
fn databases(session: &SqlSession) -> Result<Vec<String>> {
    if let Some(hive) = session.hive()? {
        return Ok(hive.metastore().databases()?);
    }
    let state = session.datafusion.state();
    let catalog = &state.config().options().catalog.default_catalog;
    let names = session
        .datafusion
        .catalog(catalog)
        .map(|c| c.schema_names())
        .unwrap_or_default();
    Ok(names
        .into_iter()
        .filter(|n| n != "information_schema")
        .collect())
}

/// (namespace, name, temporary) of `database`'s tables and of the temporary views.
fn tables(session: &SqlSession, database: &str) -> Result<Vec<(String, String, bool)>> {
    let view = |name: String| (String::new(), name, true);
    let Some(hive) = session.hive()? else {
        // Without a metastore every table is a temporary view of the session.
        let table = session.datafusion.catalog_names();
        let state = session.datafusion.state();
        let options = &state.config().options().catalog;
        let names = table
            .iter()
            .filter(|c| **c == options.default_catalog)
            .filter_map(|c| session.datafusion.catalog(c)?.schema(database))
            .flat_map(|s| s.table_names());
        return Ok(names.map(view).collect());
    };
    if hive.metastore().database(database)?.is_none() {
        return Err(schema_not_found(database));
    }
    let tables = hive.metastore().tables(database)?;
    let tables = tables.into_iter().map(|t| (database.to_string(), t, false));
    Ok(tables.chain(hive.views().into_iter().map(view)).collect())
}

/// Whether `name` matches Spark's SHOW pattern: `*` for any characters, `|` between
/// alternatives, letters in either case.
fn spark_like(pattern: &str, name: &str) -> bool {
    fn matches(pattern: &[u8], name: &[u8]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some((b'*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
            Some((c, rest)) => name
                .split_first()
                .is_some_and(|(n, tail)| n.eq_ignore_ascii_case(c) && matches(rest, tail)),
        }
    }
    pattern
        .split('|')
        .any(|alternative| matches(alternative.trim().as_bytes(), name.as_bytes()))
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

    #[test]
    fn sparks_catalog_commands_are_read() {
        let parse = |s: &str| CatalogCommand::parse(s).unwrap();
        assert_eq!(
            parse("show databases"),
            Some(CatalogCommand::ShowDatabases { pattern: None })
        );
        assert_eq!(
            parse("SHOW TABLES IN `shop` LIKE 'hive_*'"),
            Some(CatalogCommand::ShowTables {
                database: Some("shop".into()),
                pattern: Some("hive_*".into())
            })
        );
        assert_eq!(
            parse("SHOW TABLES 's*'"),
            Some(CatalogCommand::ShowTables {
                database: None,
                pattern: Some("s*".into())
            })
        );
        assert_eq!(
            parse("use database shop"),
            Some(CatalogCommand::Use {
                database: "shop".into()
            })
        );
        assert_eq!(parse("SELECT 1"), None);
        let err = CatalogCommand::parse("SHOW TABLES IN shop sales").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected SHOW TABLES [IN <database>]"),
            "{err}"
        );
        assert!(CatalogCommand::parse("USE").is_err());
        assert_eq!(
            parse("desc table extended shop.sales"),
            Some(CatalogCommand::Describe {
                table: "shop.sales".into()
            })
        );
    }

    #[test]
    fn show_patterns_are_sparks() {
        assert!(spark_like("hive_*", "HIVE_orc"));
        assert!(spark_like("sales|ds_*", "ds_csv"));
        assert!(!spark_like("hive_*", "sales"));
        assert!(spark_like("*", ""));
    }

    #[test]
    fn sparks_temporary_views_of_queries_are_read() {
        assert_eq!(
            QueryView::parse("create or replace temp view `v` as select 1 as one"),
            Some(QueryView {
                name: "v".into(),
                query: "select 1 as one".into(),
                replace: true
            })
        );
        assert_eq!(
            QueryView::parse("CREATE TEMPORARY VIEW vast AS\nSELECT 'as' FROM t"),
            Some(QueryView {
                name: "vast".into(),
                query: "SELECT 'as' FROM t".into(),
                replace: false
            })
        );
        assert_eq!(QueryView::parse("CREATE VIEW v AS SELECT 1"), None);
        assert_eq!(
            QueryView::parse("CREATE TEMPORARY VIEW v USING csv OPTIONS (path 'x')"),
            None
        );
    }
}
