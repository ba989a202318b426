//! Reading and writing the mini cluster's HDFS and S3 through the object stores ember resolves
//! paths to.

use ember_hadoop::{resolve, HadoopConf};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};

fn conf() -> HadoopConf {
    ember_integration::hadoop_conf()
}

/// Bytes that differ from block to block, over several 1 MiB HDFS blocks.
fn payload() -> Vec<u8> {
    (0..(3 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

async fn round_trip(url: &str) {
    let resolved = resolve(url, &conf()).unwrap();
    let data = payload();
    resolved
        .store
        .put(&resolved.path, PutPayload::from(data.clone()))
        .await
        .unwrap();
    let back = resolved
        .store
        .get(&resolved.path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.len(), data.len(), "{url}");
    assert!(back == data, "{url}: the bytes read back differ");
    let range = resolved
        .store
        .get_range(&resolved.path, 1_048_000..1_049_000)
        .await
        .unwrap();
    assert_eq!(
        &range[..],
        &data[1_048_000..1_049_000],
        "{url}: a range across a block edge"
    );
    let parent = resolved.path.parts().count() - 1;
    let prefix: object_store::path::Path = resolved.path.parts().take(parent).collect();
    let listed: Vec<_> = resolved
        .store
        .list(Some(&prefix))
        .try_collect()
        .await
        .unwrap();
    assert!(listed
        .iter()
        .any(|m| m.location == resolved.path && m.size == data.len() as u64));
    resolved.store.delete(&resolved.path).await.unwrap();
    assert!(
        resolved.store.head(&resolved.path).await.is_err(),
        "{url}: deleted"
    );
}

#[tokio::test]
async fn hdfs_paths_round_trip_through_the_namenode_and_datanodes() {
    let fs = conf().default_fs();
    round_trip(&format!(
        "{}/ember-it/full-url.bin",
        fs.trim_end_matches('/')
    ))
    .await;
    // A bare path means the default file system, HDFS here.
    round_trip("/ember-it/bare-path.bin").await;
}

#[tokio::test]
async fn s3a_paths_round_trip_through_the_s3_server() {
    ember_integration::create_bucket("ember-it");
    round_trip("s3a://ember-it/data/object.bin").await;
    round_trip("s3://ember-it/other.bin").await;
}

#[tokio::test]
async fn local_paths_round_trip_too() {
    let dir = std::env::temp_dir().join(format!("ember-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    round_trip(&format!("file://{}/local.bin", dir.display())).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn hadoop_reads_what_ember_writes_and_ember_reads_what_hadoop_writes() {
    let data = payload();
    let local = std::env::temp_dir().join(format!("ember-it-cross-{}", std::process::id()));
    std::fs::create_dir_all(&local).unwrap();

    let ours = resolve("/ember-it/cross/from-ember.bin", &conf()).unwrap();
    ours.store
        .put(&ours.path, PutPayload::from(data.clone()))
        .await
        .unwrap();
    let fetched = local.join("from-ember.bin");
    assert!(ember_integration::hadoop_fs(&[
        "-get",
        "/ember-it/cross/from-ember.bin",
        fetched.to_str().unwrap()
    ]));
    assert!(
        std::fs::read(&fetched).unwrap() == data,
        "Hadoop read other bytes"
    );

    let source = local.join("from-hadoop.bin");
    std::fs::write(&source, &data).unwrap();
    assert!(ember_integration::hadoop_fs(&[
        "-put",
        "-f",
        source.to_str().unwrap(),
        "/ember-it/cross/from-hadoop.bin"
    ]));
    let theirs = resolve("/ember-it/cross/from-hadoop.bin", &conf()).unwrap();
    let back = theirs
        .store
        .get(&theirs.path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(back == data, "ember read other bytes");
    std::fs::remove_dir_all(&local).unwrap();
}

/// hdfs-native keeps idle DataNode connections in one cache for the whole process. A read on one
/// runtime must not be handed a connection that lives on another runtime's reactor, which no one
/// may be driving any more (here a current-thread runtime that stands idle after its read).
#[test]
fn hdfs_reads_on_one_runtime_never_wait_on_connections_of_another() {
    let resolved = resolve("/ember-it/two-runtimes.bin", &conf()).unwrap();
    let (store, path) = (resolved.store, resolved.path);
    let data = payload();
    let idle = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let read = |store: std::sync::Arc<dyn object_store::ObjectStore>, path| async move {
        store.get(&path).await?.bytes().await
    };
    idle.block_on(store.put(&path, PutPayload::from(data.clone())))
        .unwrap();
    let first = idle.block_on(read(store.clone(), path.clone())).unwrap();
    assert!(first == data, "the first read got other bytes");

    let (sent, received) = std::sync::mpsc::channel();
    let (other_store, other_path) = (store.clone(), path.clone());
    std::thread::spawn(move || {
        let other = tokio::runtime::Runtime::new().unwrap();
        let _ = sent.send(other.block_on(read(other_store, other_path)));
    });
    let second = received
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a read on a second runtime hung on a DataNode connection of the first")
        .unwrap();
    assert!(second == data, "the second read got other bytes");
    idle.block_on(store.delete(&path)).unwrap();
}
