//! `conversations export`.

use std::io::Write;

use async_trait::async_trait;
use chrono::{Days, NaiveTime};
use shiftdesk_core::search::{
    AssigneeFilter, ConversationFilter, ExportFormat, TimeField, TimeWindow,
};
use shiftdesk_core::service::ExportSink;
use shiftdesk_core::store::BoxError;
use shiftdesk_core::time::DateRange;

use crate::cli::{ConversationsCommand, ExportFormatArg};
use crate::failure::Failure;
use crate::progress;
use crate::schedule::date;
use crate::session::Session;

/// Runs a `conversations` command.
#[tracing::instrument(skip_all)]
pub(crate) async fn run(session: &Session, command: ConversationsCommand) -> Result<(), Failure> {
    let ConversationsCommand::Export {
        from,
        to,
        agent,
        format,
    } = command;
    let dates = DateRange::new(date("--from", &from)?, date("--to", &to)?)
        .map_err(|problem| Failure::input(format!("--from/--to: the range {problem}")))?;
    let team = session.service.team(&session.ctx).await?;
    let assignee = match agent {
        Some(login) => {
            let directory = session.directory().await?;
            let ids = directory.agent_ids([login.as_str()], "--agent")?;
            ids.first().copied().map(AssigneeFilter::Agent)
        }
        None => None,
    };
    // The dates are the team's: a conversation opened at 23:30 local time belongs to that day.
    let after_last = dates
        .last()
        .checked_add_days(Days::new(1))
        .unwrap_or(dates.last());
    let window = TimeWindow {
        field: TimeField::CreatedAt,
        from: Some(
            team.time_zone
                .instant(dates.first().and_time(NaiveTime::MIN)),
        ),
        until: Some(team.time_zone.instant(after_last.and_time(NaiveTime::MIN))),
    };
    let filter = ConversationFilter {
        assignee,
        time: Some(window),
        ..ConversationFilter::default()
    };
    let format = match format {
        ExportFormatArg::Csv => ExportFormat::Csv,
        ExportFormatArg::Jsonl => ExportFormat::JsonLines,
    };
    let mut sink = StdoutSink {
        out: std::io::BufWriter::new(std::io::stdout()),
        bar: progress::spinner("exporting conversations"),
        chunks: 0,
    };
    let summary = session
        .service
        .export(&session.ctx, filter, format, &mut sink)
        .await?;
    sink.out.flush()?;
    sink.bar.finish_and_clear();
    tracing::info!(
        conversations = summary.conversations,
        messages = summary.messages,
        "exported"
    );
    Ok(())
}

/// Writes the export to standard output as it comes, ticking the progress bar.
struct StdoutSink {
    out: std::io::BufWriter<std::io::Stdout>,
    bar: indicatif::ProgressBar,
    chunks: u64,
}

#[async_trait]
impl ExportSink for StdoutSink {
    async fn write(&mut self, chunk: String) -> Result<(), BoxError> {
        self.out.write_all(chunk.as_bytes())?;
        self.chunks += 1;
        self.bar.set_position(self.chunks);
        Ok(())
    }
}
