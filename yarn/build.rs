//! Compiles ember's YARN protocol definitions with a pure-Rust protobuf compiler; the Hadoop IPC
//! messages they use are ember-hadoop's.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/yarn.proto";
    let hadoop = "../crates/ember-hadoop/proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto", hadoop])?;
    prost_build::Config::new()
        .bytes(["."])
        .extern_path(".ember.hadoop.rpc", "::ember_hadoop::ipc::proto")
        .compile_fds(descriptors)?;
    Ok(())
}
