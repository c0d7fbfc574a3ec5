//! The binary: announces its port on stdout, serves a seed file, generates seeds,
//! and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_github-double");

fn generate(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("generate")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seed JSON on stdout")
}

#[test]
fn generate_prints_a_seed_with_tenants() {
    let seed = generate(&[
        "--threads",
        "3",
        "--comments-per-thread",
        "2",
        "--tenants",
        "2",
    ]);
    let repos = seed["repos"].as_array().unwrap();
    assert_eq!(repos.len(), 2);
    assert_eq!(repos[1]["owner"], "tenant2");
    assert_eq!(repos[1]["name"], "repo2");
    assert_eq!(repos[1]["private"], true);
    assert_eq!(
        repos[1]["pulls"][0]["generate"]["marker"],
        "tenant-2-marker"
    );
    let users = seed["users"].as_array().unwrap();
    assert!(users
        .iter()
        .any(|u| u["login"] == "tenant1" && u["tokens"][0] == "ghp_tenant1"));
}

#[tokio::test]
async fn binary_announces_its_port_serves_the_seed_and_stops_on_sigterm() {
    let seed = generate(&[
        "--threads",
        "2",
        "--comments-per-thread",
        "3",
        "--tenants",
        "2",
    ]);
    let dir = std::env::temp_dir().join(format!("github-double-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed.json");
    std::fs::write(&path, seed.to_string()).unwrap();
    let mut child = Command::new(BIN)
        .args(["--seed", path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("announce line")
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"));

    let client = reqwest::Client::new();
    let comments: Vec<serde_json::Value> = client
        .get(format!("{base}/repos/tenant2/repo2/pulls/1/comments"))
        .bearer_auth("ghp_tenant2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(comments.len(), 6);
    assert!(comments
        .iter()
        .all(|c| c["body"].as_str().unwrap().contains("tenant-2-marker")));
    let other = client
        .get(format!("{base}/repos/tenant2/repo2/pulls/1"))
        .bearer_auth("ghp_tenant1")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(waited < Duration::from_secs(5), "exits after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(status.success());
    let _ = std::fs::remove_dir_all(dir);
}
