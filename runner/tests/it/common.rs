//! Shared by the container tests: a test image made with `docker import`, since no registry is
//! reachable here.
#![allow(dead_code)]

use std::process::Command;

/// Imports `image` (unless it exists): a static busybox with the applets the tests use, `/tmp`,
/// and, as in ROCm images, the groups the GPU devices belong to.
pub fn busybox_image(image: &str) {
    busybox_image_with(image, &[]);
}

/// [`busybox_image`] with `docker import --change` instructions (`LABEL k=v`).
pub fn busybox_image_with(image: &str, changes: &[&str]) {
    let have = Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return;
    }
    let root = tempfile::tempdir().expect("tmp");
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(root.path().join("tmp")).expect("tmp");
    std::fs::create_dir_all(root.path().join("etc")).expect("etc");
    std::fs::write(
        root.path().join("etc/group"),
        "root:x:0:\nvideo:x:44:\nrender:x:109:\n",
    )
    .expect("group");
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("a static busybox (apt-get install busybox-static)");
    for c in ["sh", "sleep", "echo", "cat", "ls", "env", "true", "kill"] {
        std::os::unix::fs::symlink("busybox", bin.join(c)).expect("link");
    }
    let archive = root.path().with_extension("tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .expect("tar");
    assert!(tar.success());
    let mut import = Command::new("docker");
    import.arg("import");
    for c in changes {
        import.arg("--change").arg(c);
    }
    let ok = import
        .arg(&archive)
        .arg(image)
        .output()
        .expect("docker import");
    let _ = std::fs::remove_file(&archive);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
