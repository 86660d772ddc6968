//! `runner mock` exit codes, as docs/exit-codes.md gives them: a mock that cannot
//! start (its port taken) exits 3, a keys file the user got wrong exits 2.

#[path = "support/runner_cli.rs"]
mod runner_cli;

use runner_cli::Workspace;

#[test]
fn a_port_already_in_use_exits_3_naming_the_port() {
    // Held for the whole test, so the mock cannot bind it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ws = Workspace::new();
    let out = ws
        .runner()
        .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
        .run();
    out.expect_code(3);
    assert!(
        out.stderr
            .contains(&format!("cannot bind 127.0.0.1:{port}")),
        "{}",
        out.all()
    );
}

/// `runner mock --keys KEYS` on any free port: only the keys file can stop it.
fn mock_with_keys(ws: &Workspace, keys: &std::path::Path) -> runner_cli::Output {
    ws.runner()
        .args(["mock", "--host", "127.0.0.1", "--port", "0", "--keys"])
        .arg(keys)
        .run()
}

#[test]
fn a_bad_keys_file_exits_2_naming_the_file() {
    let ws = Workspace::new();
    let keys = ws.write("keys.txt", "lp_test_not-a-key\n");
    let out = mock_with_keys(&ws, &keys);
    out.expect_code(2);
    assert!(out.stderr.contains("keys.txt"), "{}", out.all());
    assert!(out.stderr.contains("line 1"), "{}", out.all());
    assert!(
        !out.stdout.contains("mock listening"),
        "the mock did not start: {}",
        out.all()
    );

    let missing = ws.path("no-such-keys.txt");
    let out = mock_with_keys(&ws, &missing);
    out.expect_code(2);
    assert!(
        out.stderr.contains("cannot read keys file"),
        "{}",
        out.all()
    );
}

/// A keys file is read with a limit, once: a device or a pipe named by mistake
/// is refused at once (`/dev/zero` was read until memory ran out), and so is a
/// file over the size limit.
#[test]
fn a_keys_file_that_is_not_a_small_regular_file_exits_2() {
    let ws = Workspace::new();
    let big = ws.write(
        "big-keys.txt",
        &"#".repeat(usize::try_from(layers_mock::MAX_KEYS_FILE_BYTES).unwrap() + 1),
    );
    for (keys, says) in [
        (std::path::PathBuf::from("/dev/zero"), "not a regular file"),
        (big, "over the 4 MB limit"),
    ] {
        let out = mock_with_keys(&ws, &keys);
        out.expect_code(2);
        assert!(
            out.stderr.contains("cannot read keys file"),
            "{}",
            out.all()
        );
        assert!(out.stderr.contains(says), "{}", out.all());
        assert!(!out.stdout.contains("mock listening"), "{}", out.all());
    }
}
