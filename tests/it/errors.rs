//! Every error a newcomer meets in the first hour names the file, the key and the fix: a wrong
//! source path, a misspelt object type, property, operation or base_url, a missing or refused
//! token, a flag's mistake (exit 2) — and a run that never started leaves no file behind.

use crate::support::fixtures::{Pipeline, contacts};
use crate::support::scenario::Scenario;

/// The files a failed start may leave: none but the test's own.
fn only_the_tests_files(scenario_files: Vec<std::path::PathBuf>) {
    let mut names: Vec<String> = scenario_files
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["input.csv", "p.toml"],
        "a run that never started left files"
    );
}

fn contacts_pipeline() -> Pipeline {
    Pipeline::new().upsert_by("email").map_contact_columns()
}

#[test]
fn a_wrong_source_path_names_the_key_and_the_nearest_file_in_run_and_validate() {
    let run = Scenario::new()
        .csv(contacts(3))
        .pipeline(|_| contacts_pipeline().source("inputs.csv"))
        .run();
    run.exit(1)
        .says("pipeline file p.toml: `source.path`")
        .says("inputs.csv does not exist (did you mean \"input.csv\"?)");
    let said = |text: String| {
        text.lines()
            .find(|l| l.starts_with("etl: error:"))
            .map(str::to_string)
    };
    let validate = run.then().validate();
    validate.exit(1);
    assert_eq!(
        said(validate.text()),
        said(run.text()),
        "run and validate say the same"
    );
    only_the_tests_files(validate.workdir().files());
}

#[test]
fn a_misspelt_object_type_is_the_pipelines_mistake_with_a_suggestion() {
    let run = Scenario::new()
        .csv(contacts(3))
        .pipeline(|_| contacts_pipeline().object("contatcs"))
        .run();
    run.exit(1)
        .says("pipeline file p.toml: `target.object`")
        .says("no object type \"contatcs\" (did you mean \"contacts\"?)");
    assert!(!run.text().contains("127.0.0.1"), "{}", run.text());
    only_the_tests_files(run.workdir().files());
}

#[test]
fn typos_in_keys_values_get_a_suggestion() {
    for (pipeline, says) in [
        (
            contacts_pipeline().map("fistname", "First Name"),
            "mapping.fistname: object contacts has no property \"fistname\" (did you mean \"firstname\"",
        ),
        (
            contacts_pipeline().base_url("sandbx"),
            "(did you mean \"sandbox\"?)",
        ),
        (
            contacts_pipeline().operation("upsrt"),
            "unknown operation \"upsrt\": expected create, update, upsert, archive, associate or dissociate (did you mean \"upsert\"?)",
        ),
        (
            contacts_pipeline().base_url("127.0.0.1:8080"),
            "has no scheme: write \"http://127.0.0.1:8080\"",
        ),
    ] {
        let run = Scenario::new()
            .csv(contacts(3))
            .pipeline(|_| pipeline)
            .run();
        run.exit(1).says(says);
        only_the_tests_files(run.workdir().files());
    }
}

#[test]
fn the_token_messages_name_the_variable_and_what_to_do() {
    let scenario = Scenario::new()
        .csv(contacts(3))
        .pipeline(|_| contacts_pipeline());
    let url = scenario.url();
    let missing = scenario
        .pipeline(move |_| {
            contacts_pipeline()
                .base_url(&url)
                .token_env("NO_SUCH_TOKEN_VAR")
        })
        .run();
    missing
        .exit(1)
        .says("the environment variable NO_SUCH_TOKEN_VAR is not set")
        .says("target.token_env");
    let default = missing
        .then()
        .pipeline(|_| contacts_pipeline())
        .token("")
        .run();
    default
        .exit(1)
        .says("HUBSPOT_TOKEN is not set")
        .says("name another variable with target.token_env");
    let refused = default.then().token("pat-wrong").run();
    refused
        .exit(1)
        .says("HubSpot refused the token in HUBSPOT_TOKEN (401")
        .says("copy the private app's access token again");
    assert!(!refused.text().contains("pat-wrong"));
    only_the_tests_files(
        refused
            .workdir()
            .files()
            .into_iter()
            .filter(|p| !p.ends_with("report.json"))
            .collect(),
    );
}

#[test]
fn flag_mistakes_are_usage_errors_naming_the_flag() {
    let scenario = Scenario::new()
        .csv(contacts(3))
        .pipeline(|_| contacts_pipeline());
    let run = scenario.args(["--base-url", "127.0.0.1:8080"]).run();
    run.exit(2)
        .says("--base-url \"127.0.0.1:8080\": \"127.0.0.1:8080\" has no scheme: write \"http://127.0.0.1:8080\"");
    let run = run.then().args(["--source", "inputs.csv"]).validate();
    run.exit(2)
        .says("--source \"inputs.csv\": inputs.csv does not exist (did you mean \"input.csv\"?)");
    let run = run.then().args(["--source", "input.xlsx"]).run();
    run.exit(2)
        .says("--source \"input.xlsx\"")
        .says("extension");
    only_the_tests_files(run.workdir().files());
}
