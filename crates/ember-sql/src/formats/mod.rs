//! The file formats DataFusion does not bring: ORC and text, read and written as Spark does.
//!
//! | format | read by | written by |
//! |---|---|---|
//! | csv, json, parquet | DataFusion's scans | DataFusion's sinks |
//! | orc | [`orc::OrcSource`], a DataFusion `FileSource` (schemas from the files' footers) | [`sink::FormatSink`] with orc-rust's writer |
//! | text | ember-core's text input, as an RDD-backed DataFrame ([`text::read_text`]) | [`sink::FormatSink`], one line per row |
//!
//! Every format is written the same way: a DataFusion `COPY` plan whose sink writes under the
//! writer's temporary directory, committed by [`crate::writer`]. The ORC scan and the sink are
//! ember's own plan pieces, so they travel to executors through `distributed::codec` like
//! DataFusion's: ORC queries and ORC and text writes run as stages on executors.

pub(crate) mod orc;
pub(crate) mod sink;
pub(crate) mod text;

/// The extension and the (option-less) DataFusion factory of a unit format type.
macro_rules! format_factory {
    ($format:ident, $extension:literal) => {
        impl datafusion::common::GetExt for $format {
            fn get_ext(&self) -> String {
                $extension.into()
            }
        }

        impl datafusion::datasource::file_format::FileFormatFactory for $format {
            fn create(
                &self,
                _state: &dyn datafusion::catalog::Session,
                _format_options: &std::collections::HashMap<String, String>,
            ) -> datafusion::error::Result<
                std::sync::Arc<dyn datafusion::datasource::file_format::FileFormat>,
            > {
                Ok(std::sync::Arc::new($format))
            }

            fn default(
                &self,
            ) -> std::sync::Arc<dyn datafusion::datasource::file_format::FileFormat> {
                std::sync::Arc::new($format)
            }
        }
    };
}
use format_factory;
