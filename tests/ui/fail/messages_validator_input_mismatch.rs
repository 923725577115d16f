use weft::{workflow, WorkflowContext, WorkflowError, WorkflowResult};

#[derive(Default)]
struct Counter {
    count: u32,
    label: String,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx.state(|s| s.count))
    }

    #[update]
    fn add(&mut self, n: u32) -> WorkflowResult<u32> {
        self.count += n;
        Ok(self.count)
    }

    #[validator(add)]
    fn check_add(&self, n: &String) -> Result<(), WorkflowError> {
        let _ = n;
        Ok(())
    }

    #[update]
    fn relabel(&mut self, label: String, times: u32) -> WorkflowResult<()> {
        self.label = label.repeat(times as usize);
        Ok(())
    }

    #[validator(relabel)]
    fn check_relabel(&self, label: &str, times: &u64) -> Result<(), WorkflowError> {
        let _ = (label, times, &self.label);
        Ok(())
    }
}

fn main() {}
