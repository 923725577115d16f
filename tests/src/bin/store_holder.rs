//! The other process of the store lock test: it runs an engine on a store
//! until its stdin closes.
//!
//! Usage: `store_holder STORE`; prints `ready` once the engine holds the store,
//! or `error: ...` and exits 1.

use std::io::Read;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: store_holder STORE");
        return std::process::ExitCode::FAILURE;
    };
    match weft::Engine::builder().sqlite(path).build().await {
        Ok(engine) => {
            println!("ready");
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            engine.shutdown().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {}", weft::ErrorChain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
