//! `brig metrics serve`: what `stats --prometheus` prints, served over
//! HTTP at /metrics for Prometheus to scrape; no other route.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Subcommand;

use super::{host_choice, CliError, HostChoice};
use crate::host::Host;

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Serve the metrics at http://ADDR:PORT/metrics until interrupted.
    Serve {
        /// Where to listen: this host's loopback unless another address is given.
        #[arg(long, default_value = "127.0.0.1:9478", value_name = "ADDR:PORT")]
        listen: SocketAddr,
    },
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole exposition, read afresh for each scrape.
fn metrics(host: &dyn Host) -> Result<String, crate::app::Error> {
    let rows = crate::app::limits::stats(host)?;
    let watched = crate::app::health::supervised(host)?;
    Ok(super::prometheus::render(&rows, &watched))
}

fn respond(host: &dyn Host, request: tiny_http::Request) {
    use tiny_http::Method;
    let path = request.url().split('?').next().unwrap_or_default();
    let (code, body, kind) = match (request.method(), path) {
        (Method::Get | Method::Head, "/metrics") => match metrics(host) {
            Ok(text) => (200, text, TEXT_FORMAT),
            Err(e) => (500, format!("{e}\n"), "text/plain"),
        },
        (Method::Get | Method::Head, _) => (404, "brig serves /metrics only\n".to_string(), "text/plain"),
        _ => (405, "only GET /metrics\n".to_string(), "text/plain"),
    };
    let mut response = tiny_http::Response::from_string(body).with_status_code(code);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", kind) {
        response.add_header(h);
    }
    // A scraper that went away meanwhile is not brig's failure.
    let _ = request.respond(response);
}

pub fn run(choice: Option<HostChoice>, cmd: &MetricsCommand) -> Result<ExitCode, CliError> {
    let MetricsCommand::Serve { listen } = cmd;
    let host = host_choice::open(choice)?;
    let server = tiny_http::Server::http(listen)
        .map_err(|e| CliError::Usage(format!("--listen {listen}: cannot listen there: {e}")))?;
    if !listen.ip().is_loopback() {
        eprintln!(
            "brig: warning: metrics on {listen} can be read from beyond this host: every jail's name and usage; put a firewall in front"
        );
    }
    eprintln!("brig: serving http://{listen}/metrics");
    let stop =
        crate::release::interrupt::catch().map_err(|e| crate::app::Error::from(crate::app::Refused::Interrupt(e)))?;
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(request)) => respond(&*host, request),
            Ok(None) => {}
            Err(e) => return Err(CliError::Usage(format!("{listen}: {e}"))),
        }
    }
    Ok(ExitCode::SUCCESS)
}
