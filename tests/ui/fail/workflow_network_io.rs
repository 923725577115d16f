use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _conn = std::net::TcpStream::connect("127.0.0.1:80");
    let _ = ctx;
    Ok(())
}

fn main() {}
