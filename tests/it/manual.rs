//! `etl completions` and `etl man`: generated from the command line's definition, so every command
//! and flag is in them.

use crate::support::scenario::Scenario;

#[test]
fn completions_know_every_command_and_flag() {
    let scenario = Scenario::new();
    let bash = scenario.command(["completions", "bash"]);
    bash.exit(0);
    for word in [
        "init",
        "validate",
        "sandbox",
        "--resume",
        "--base-url",
        "--object",
    ] {
        assert!(
            bash.stdout().contains(word),
            "{word} not in the bash script"
        );
    }
    // Each shell spells a long flag its own way.
    for (shell, resume) in [("zsh", "--resume"), ("fish", "-l resume")] {
        let script = bash.then().command(["completions", shell]);
        script.exit(0);
        assert!(
            script.stdout().contains(resume),
            "{shell}:\n{}",
            script.stdout()
        );
    }
    bash.then()
        .command(["completions", "tcsh"])
        .exit(2)
        .says("invalid value 'tcsh'");
}

#[test]
fn man_pages_cover_etl_and_each_command() {
    let main = Scenario::new().command(["man"]);
    main.exit(0);
    assert!(main.stdout().starts_with(".ie"), "{}", &main.stdout()[..40]);
    assert!(main.stdout().contains(".TH etl 1"), "roff with a title");
    let run = main.then().command(["man", "run"]);
    run.exit(0);
    assert!(run.stdout().contains(".TH etl-run 1"));
    assert!(run.stdout().contains("resume"));
    main.then()
        .command(["man", "rnu"])
        .exit(2)
        .says("did you mean \"run\"");
    let all = main.then().command(["man", "--out-dir", "man1"]);
    all.exit(0);
    for page in [
        "etl.1",
        "etl-run.1",
        "etl-init.1",
        "etl-validate.1",
        "etl-sandbox.1",
    ] {
        assert!(all.workdir().path("man1").join(page).exists(), "{page}");
    }
}
