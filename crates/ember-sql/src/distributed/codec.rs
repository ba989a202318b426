//! Plan fragments on the wire: DataFusion's protobuf form (datafusion-proto), with ember's own
//! pieces added by [`EmberCodec`]: shuffle readers, RDD scans, runtime filters, ORC scans, the
//! ORC and text sinks, and user functions with their closures.

use super::exchange::ShuffleReaderExec;
use super::rdd_scan::{RddBatches, RddScanExec};
use super::runtime_filter::RuntimeFilterExec;
use crate::formats::orc::OrcSource;
use crate::formats::sink::{FormatSink, SinkFormat};
use crate::udf::EmberUdf;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSink, FileSinkConfig};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ColumnarValue;
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::scalar_subquery::ScalarSubqueryExpr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{ExecutionPlan, Partitioning, PlanProperties};
use datafusion_proto::bytes::{
    physical_plan_from_bytes_with_proto_converter, physical_plan_to_bytes_with_proto_converter,
};
use datafusion_proto::physical_plan::from_proto::{
    parse_protobuf_file_scan_config, parse_table_schema_from_proto,
};
use datafusion_proto::physical_plan::to_proto::{
    serialize_file_scan_config, serialize_physical_expr_with_converter,
};
use datafusion_proto::physical_plan::{
    DeduplicatingProtoConverter, DefaultPhysicalProtoConverter, PhysicalExtensionCodec,
    PhysicalPlanDecodeContext, PhysicalPlanNodeExt, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf::{
    FileScanExecConf, FileSinkConfig as FileSinkConfigProto, PhysicalExprNode, PhysicalPlanNode,
};
use ember_core::ship::Shipped;
use prost::Message;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::sync::Arc;

/// `plan` as bytes an executor decodes with [`decode_plan`].
///
/// # Errors
/// A node DataFusion cannot serialize (a table kept in the driver's memory, a custom source):
/// such a plan cannot leave the driver.
pub(crate) fn encode_plan(plan: Arc<dyn ExecutionPlan>) -> Result<Vec<u8>> {
    let bytes = physical_plan_to_bytes_with_proto_converter(plan, &EmberCodec, &EmberConverter)?;
    Ok(bytes.to_vec())
}

/// The plan [`encode_plan`] made, with its functions looked up in `task`'s registry.
///
/// An expression found in several nodes decodes to one, shared: a join's dynamic filter is
/// the filter its probe side's scan reads (see [`super::join_filter`]).
pub(crate) fn decode_plan(bytes: &[u8], task: &TaskContext) -> Result<Arc<dyn ExecutionPlan>> {
    physical_plan_from_bytes_with_proto_converter(
        bytes,
        task,
        &EmberCodec,
        &DeduplicatingProtoConverter {},
    )
}

/// ember's additions to DataFusion's plan serialization.
#[derive(Debug)]
pub(crate) struct EmberCodec;

/// ember's plan nodes on the wire.
#[derive(Serialize, Deserialize)]
enum NodeWire {
    ShuffleReader {
        shuffle_id: usize,
        partitions: usize,
        schema: ByteBuf,
    },
    RddScan {
        source: Shipped,
        schema: ByteBuf,
        partitions: usize,
        projection: Option<Vec<usize>>,
    },
    /// A scan of ORC files: DataFusion's protobuf form of its file scan configuration.
    OrcScan { conf: ByteBuf },
    /// A write of ORC or text files, its input the node's one input: DataFusion's protobuf
    /// form of the sink's configuration.
    FormatSink { format: SinkFormat, config: ByteBuf },
    /// A runtime filter, its inputs the filtered and the unfiltered probe side.
    RuntimeFilter {
        build_shuffle: usize,
        threshold: u64,
    },
}

impl PhysicalExtensionCodec for EmberCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let wire: NodeWire = bincode::deserialize(buf)
            .map_err(|e| DataFusionError::Internal(format!("an ember plan node: {e}")))?;
        match wire {
            NodeWire::ShuffleReader {
                shuffle_id,
                partitions,
                schema,
            } => {
                // The planner has done its work: the executor needs the schema and the
                // partition count.
                let properties = PlanProperties::new(
                    EquivalenceProperties::new(schema_of(&schema)?),
                    Partitioning::UnknownPartitioning(partitions),
                    EmissionType::Incremental,
                    Boundedness::Bounded,
                );
                let reader = ShuffleReaderExec::new(shuffle_id, Arc::new(properties));
                Ok(Arc::new(reader))
            }
            NodeWire::RddScan {
                source,
                schema,
                partitions,
                projection,
            } => {
                let source = source
                    .open::<dyn RddBatches>()
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                let scan = RddScanExec::new(source, schema_of(&schema)?, partitions);
                Ok(Arc::new(match projection {
                    Some(columns) => scan.with_projection(columns)?,
                    None => scan,
                }))
            }
            NodeWire::OrcScan { conf } => {
                let proto = FileScanExecConf::decode(conf.as_slice()).map_err(wire_error)?;
                let source = Arc::new(OrcSource::new(parse_table_schema_from_proto(&proto)?));
                let decoding = PhysicalPlanDecodeContext::new(ctx, self);
                let conf = parse_protobuf_file_scan_config(&proto, &decoding, converter, source)?;
                Ok(DataSourceExec::from_data_source(conf))
            }
            NodeWire::FormatSink { format, config } => {
                let proto = FileSinkConfigProto::decode(config.as_slice()).map_err(wire_error)?;
                let config = FileSinkConfig::try_from(&proto)?;
                let [input] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "a sink with {} inputs",
                        inputs.len()
                    )));
                };
                let sink = Arc::new(FormatSink::new(config, format));
                Ok(Arc::new(DataSinkExec::new(input.clone(), sink, None)))
            }
            NodeWire::RuntimeFilter {
                build_shuffle,
                threshold,
            } => {
                let [filtered, unfiltered] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "a runtime filter with {} inputs",
                        inputs.len()
                    )));
                };
                let node = RuntimeFilterExec::new(
                    build_shuffle,
                    threshold,
                    filtered.clone(),
                    unfiltered.clone(),
                );
                Ok(Arc::new(node))
            }
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let wire = if let Some(reader) = node.downcast_ref::<ShuffleReaderExec>() {
            NodeWire::ShuffleReader {
                shuffle_id: reader.shuffle_id(),
                partitions: reader.partitions(),
                schema: ByteBuf::from(schema_bytes(&reader.schema())?),
            }
        } else if let Some(scan) = node.downcast_ref::<RddScanExec>() {
            NodeWire::RddScan {
                source: scan
                    .source()
                    .ship()
                    .map_err(|e| DataFusionError::External(Box::new(e)))?,
                schema: ByteBuf::from(schema_bytes(scan.rdd_schema())?),
                partitions: scan.partitions(),
                projection: scan.projection().cloned(),
            }
        } else if let Some(filter) = node.downcast_ref::<RuntimeFilterExec>() {
            NodeWire::RuntimeFilter {
                build_shuffle: filter.build_shuffle(),
                threshold: filter.threshold(),
            }
        } else if let Some(conf) = orc_scan(&node) {
            let proto = serialize_file_scan_config(conf, self, converter)?;
            NodeWire::OrcScan {
                conf: ByteBuf::from(proto.encode_to_vec()),
            }
        } else if let Some((sink, exec)) = format_sink(&node) {
            if exec.sort_order().is_some() {
                return Err(DataFusionError::NotImplemented(
                    "a sorted write of orc or text".into(),
                ));
            }
            let proto = FileSinkConfigProto::try_from(sink.config())?;
            NodeWire::FormatSink {
                format: sink.format(),
                config: ByteBuf::from(proto.encode_to_vec()),
            }
        } else {
            return Err(DataFusionError::NotImplemented(format!(
                "{} cannot be sent to executors",
                node.name()
            )));
        };
        let bytes = bincode::serialize(&wire)
            .map_err(|e| DataFusionError::Internal(format!("an ember plan node: {e}")))?;
        buf.extend_from_slice(&bytes);
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        EmberUdf::decode(name, buf).map(Arc::new)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        // Built-in functions travel by name; a user's carries its closure.
        if let Some(udf) = node.inner().downcast_ref::<EmberUdf>() {
            let bytes = udf
                .encode()
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            buf.extend_from_slice(&bytes);
        }
        Ok(())
    }
}

fn wire_error(e: prost::DecodeError) -> DataFusionError {
    DataFusionError::Internal(format!("an ember plan node: {e}"))
}

/// The configuration of `node` if it scans ORC files.
fn orc_scan(node: &Arc<dyn ExecutionPlan>) -> Option<&FileScanConfig> {
    let exec = node.downcast_ref::<DataSourceExec>()?;
    let conf = exec.data_source().downcast_ref::<FileScanConfig>()?;
    conf.file_source().is::<OrcSource>().then_some(conf)
}

/// The sink of `node` if it writes ORC or text files.
fn format_sink(node: &Arc<dyn ExecutionPlan>) -> Option<(&FormatSink, &DataSinkExec)> {
    let exec = node.downcast_ref::<DataSinkExec>()?;
    Some((exec.sink().downcast_ref::<FormatSink>()?, exec))
}

/// DataFusion's conversion, except that a scalar subquery whose value the driver computed
/// travels as that value: the subquery's own plan stays behind (see [`super::planner`]).
struct EmberConverter;

impl PhysicalProtoConverterExtension for EmberConverter {
    fn proto_to_execution_plan(
        &self,
        proto: &PhysicalPlanNode,
        ctx: &PhysicalPlanDecodeContext<'_>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalProtoConverter {}.proto_to_execution_plan(proto, ctx)
    }

    fn execution_plan_to_proto(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        codec: &dyn PhysicalExtensionCodec,
    ) -> Result<PhysicalPlanNode> {
        PhysicalPlanNode::try_from_physical_plan_with_converter(plan.clone(), codec, self)
    }

    fn proto_to_physical_expr(
        &self,
        proto: &PhysicalExprNode,
        input_schema: &Schema,
        ctx: &PhysicalPlanDecodeContext<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        DefaultPhysicalProtoConverter {}.proto_to_physical_expr(proto, input_schema, ctx)
    }

    fn physical_expr_to_proto(
        &self,
        expr: &Arc<dyn PhysicalExpr>,
        codec: &dyn PhysicalExtensionCodec,
    ) -> Result<PhysicalExprNode> {
        if let Some(subquery) = expr.downcast_ref::<ScalarSubqueryExpr>() {
            let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
            let ColumnarValue::Scalar(value) = subquery.evaluate(&empty)? else {
                return Err(DataFusionError::Internal(
                    "a scalar subquery gave rows".into(),
                ));
            };
            let literal: Arc<dyn PhysicalExpr> = Arc::new(Literal::new(value));
            return serialize_physical_expr_with_converter(&literal, codec, self);
        }
        serialize_physical_expr_with_converter(expr, codec, self)
    }
}

/// The schema of [`schema_bytes`]'s stream.
fn schema_of(bytes: &[u8]) -> Result<SchemaRef> {
    Ok(StreamReader::try_new(bytes, None)?.schema())
}

/// A schema as an Arrow IPC stream without batches.
fn schema_bytes(schema: &SchemaRef) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    StreamWriter::try_new(&mut bytes, schema)?.finish()?;
    Ok(bytes)
}
