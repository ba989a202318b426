//! The driver/executor wire protocol (`proto/ember.proto`), compiled at build time.

#![allow(missing_docs, clippy::all)]
tonic::include_proto!("ember.rpc");
