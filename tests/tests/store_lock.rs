//! One engine per store file across processes, whatever name opens it: the
//! same path, a symlink or a hard link.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use weft::{Engine, Error};

#[tokio::test]
async fn an_engine_in_another_process_locks_the_store_under_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let symlink = dir.path().join("symlink.db");
    std::os::unix::fs::symlink(&db, &symlink).unwrap();
    let mut holder = Command::new(env!("CARGO_BIN_EXE_store_holder"))
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run store_holder");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let hard_link = dir.path().join("hard-link.db");
    std::fs::hard_link(&db, &hard_link).unwrap();
    for name in [&db, &symlink, &hard_link] {
        let err = Engine::builder().sqlite(name).build().await.unwrap_err();
        assert!(matches!(&err, Error::StoreLocked { path } if path == name), "{name:?}: {err:?}");
    }

    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    std::fs::remove_file(&hard_link).unwrap();
    let engine = Engine::builder().sqlite(&symlink).build().await.expect("the store is free again");
    engine.shutdown().await;
}
