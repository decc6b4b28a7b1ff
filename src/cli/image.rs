//! `brig commit` and `brig image list|destroy|prune`.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::output::{print_json, table, Changed};
use super::report::reporter;
use super::CliError;
use crate::app::image;
use crate::host::Host;
use crate::model::JailName;

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The stopped jail whose root becomes the image.
    pub name: String,
    /// The image's name, as `brig create --image` takes it.
    pub image: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images and cached provision layers, with the jails that use each.
    List {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Destroy an image no jail is cloned from.
    Destroy {
        /// The image.
        name: String,
    },
    /// Destroy the cached provision layers no jail, image or layer uses.
    Prune {
        /// Only say which would go.
        #[arg(long)]
        dry_run: bool,
    },
}

fn image_name(s: &str) -> Result<JailName, CliError> {
    crate::model::name::image_name(s).map_err(|why| crate::app::Error::Usage(why).into())
}

pub fn commit(host: &mut dyn Host, args: &CommitArgs) -> Result<ExitCode, CliError> {
    let name = JailName::parse(&args.name)?;
    let c = image::commit(host, &name, &image_name(&args.image)?, reporter(args.json))?;
    if args.json {
        print_json(&Changed { changed: true, outcome: &c })?;
    } else {
        println!(
            "committed jail {} as image {} ({}); `brig create NAME --image {}` clones it",
            c.jail, c.image, c.dataset, c.image
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(host: &mut dyn Host, cmd: &ImageCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ImageCommand::List { json } => {
            let l = image::list(host)?;
            if *json {
                print_json(&l)?;
                return Ok(ExitCode::SUCCESS);
            }
            let used = |u: &[String]| if u.is_empty() { "-".to_string() } else { u.join(", ") };
            let body = l
                .images
                .iter()
                .map(|i| vec![i.name.clone(), i.release.clone(), i.from.clone(), used(&i.used_by)])
                .collect();
            println!("{}", table(&["IMAGE", "RELEASE", "FROM", "USED BY"], body));
            let body = l
                .layers
                .iter()
                .map(|x| vec![x.base.clone(), x.layer.clone(), x.snapshots.to_string(), used(&x.used_by)])
                .collect();
            println!("{}", table(&["BASE", "LAYER", "STEPS", "USED BY"], body));
        }
        ImageCommand::Destroy { name } => {
            let n = image_name(name)?;
            image::destroy(host, &n)?;
            println!("destroyed image {n}");
        }
        ImageCommand::Prune { dry_run } => {
            let gone = image::prune(host, *dry_run)?;
            let verb = if *dry_run { "would destroy" } else { "destroyed" };
            for g in &gone {
                println!("{verb} {g}");
            }
            println!("{verb} {} unused cached layer{}", gone.len(), if gone.len() == 1 { "" } else { "s" });
        }
    }
    Ok(ExitCode::SUCCESS)
}
