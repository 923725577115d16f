//! Commands: what workflow code asks the engine to do.
//!
//! Workflow code issues commands; the machine records each as an event and,
//! on replay, matches each against the event recorded before.

use std::time::Duration;

use crate::activity::ActivityOptions;
use crate::history::{
    EventAttributes, Failure, Marker, ParentClosePolicy, Payload, UpdateOutcome, WorkflowIdReusePolicy,
};

#[derive(Debug, Clone)]
pub(crate) enum Command {
    ScheduleActivity {
        seq: u32,
        activity_id: String,
        activity_type: String,
        input: Payload,
        options: ActivityOptions,
    },
    RequestCancelActivity {
        seq: u32,
    },
    StartTimer {
        seq: u32,
        duration: Duration,
    },
    CancelTimer {
        seq: u32,
    },
    CompleteUpdate {
        update_id: String,
        outcome: UpdateOutcome,
    },
    SignalExternal {
        seq: u32,
        workflow_id: String,
        signal_name: String,
        input: Payload,
    },
    /// `ctx.patched(..)` / `ctx.deprecate_patch(..)` took the new branch: a `MarkerRecorded`.
    RecordPatch {
        patch_id: String,
        deprecated: bool,
    },
    CompleteWorkflow {
        result: Payload,
    },
    FailWorkflow {
        failure: Failure,
    },
    CancelWorkflow,
    ContinueAsNew {
        workflow_type: String,
        input: Payload,
    },
    StartChild {
        seq: u32,
        workflow_id: String,
        workflow_type: String,
        input: Payload,
        task_queue: String,
        parent_close_policy: ParentClosePolicy,
        id_reuse_policy: WorkflowIdReusePolicy,
        run_timeout: Option<Duration>,
        execution_timeout: Option<Duration>,
    },
    CancelChild {
        seq: u32,
    },
}

impl Command {
    /// A short description for non-determinism reports.
    pub(crate) fn describe(&self) -> String {
        match self {
            Command::ScheduleActivity { seq, activity_type, .. } => {
                format!("ScheduleActivityTask(seq {seq}, type `{activity_type}`)")
            }
            Command::RequestCancelActivity { seq } => {
                format!("RequestCancelActivityTask(seq {seq})")
            }
            Command::StartTimer { seq, duration } => {
                format!("StartTimer(seq {seq}, {})", humantime::format_duration(*duration))
            }
            Command::CancelTimer { seq } => format!("CancelTimer(seq {seq})"),
            Command::CompleteUpdate { update_id, .. } => format!("CompleteUpdate(`{update_id}`)"),
            Command::SignalExternal { seq, workflow_id, signal_name, .. } => {
                format!("SignalExternalWorkflowExecution(seq {seq}, `{signal_name}` to `{workflow_id}`)")
            }
            Command::RecordPatch { patch_id, deprecated } => {
                format!("RecordMarker(patch `{patch_id}`{})", if *deprecated { ", deprecated" } else { "" })
            }
            Command::CompleteWorkflow { .. } => "CompleteWorkflowExecution".to_owned(),
            Command::FailWorkflow { .. } => "FailWorkflowExecution".to_owned(),
            Command::CancelWorkflow => "CancelWorkflowExecution".to_owned(),
            Command::StartChild { seq, workflow_id, workflow_type, .. } => {
                format!("StartChildWorkflowExecution(seq {seq}, `{workflow_type}` as `{workflow_id}`)")
            }
            Command::CancelChild { seq } => format!("RequestCancelChildWorkflowExecution(seq {seq})"),
            Command::ContinueAsNew { workflow_type, .. } => {
                format!("ContinueAsNewWorkflowExecution(`{workflow_type}`)")
            }
        }
    }
}

/// A short description of a command event for non-determinism reports.
pub(crate) fn describe_event(attrs: &EventAttributes) -> String {
    match attrs {
        EventAttributes::ActivityTaskScheduled { seq, activity_type, .. } => {
            format!("ActivityTaskScheduled(seq {seq}, type `{activity_type}`)")
        }
        EventAttributes::TimerStarted { seq, .. } => format!("TimerStarted(seq {seq})"),
        EventAttributes::SignalExternalWorkflowExecutionInitiated { seq, workflow_id, signal_name, .. } => {
            format!("SignalExternalWorkflowExecutionInitiated(seq {seq}, `{signal_name}` to `{workflow_id}`)")
        }
        EventAttributes::StartChildWorkflowExecutionInitiated { seq, workflow_id, workflow_type, .. } => {
            format!("StartChildWorkflowExecutionInitiated(seq {seq}, `{workflow_type}` as `{workflow_id}`)")
        }
        EventAttributes::WorkflowExecutionUpdateCompleted { update_id, .. } => {
            format!("WorkflowExecutionUpdateCompleted(`{update_id}`)")
        }
        EventAttributes::MarkerRecorded { marker: Marker::LocalActivity { seq, activity_type, .. } } => {
            format!("MarkerRecorded(local activity seq {seq}, type `{activity_type}`)")
        }
        EventAttributes::MarkerRecorded { marker: Marker::Patch { patch_id, deprecated } } => {
            format!("MarkerRecorded(patch `{patch_id}`{})", if *deprecated { ", deprecated" } else { "" })
        }
        other => other.event_type().to_owned(),
    }
}
