//! F3 container specs, pure: what a benchmark container needs on each kind of host (GPU devices,
//! groups, shared memory, host network, the model mounts) and the labels that mark it as
//! sglci's, so cleanup only ever touches containers sglci started.

use std::collections::BTreeMap;

use serde::Serialize;

/// Label on every container sglci starts.
pub const MANAGED_LABEL: &str = "sglci.managed";
/// Label with the run id.
pub const RUN_LABEL: &str = "sglci.run";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub host: String,
    pub container: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub env: BTreeMap<String, String>,
    /// (path on the host, path in the container).
    pub devices: Vec<(String, String)>,
    /// NVIDIA GPUs, through the device request `--gpus` makes.
    pub gpu_request: Option<GpuRequest>,
    pub groups: Vec<String>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    pub shm_size_bytes: i64,
    pub network_host: bool,
    pub ipc_host: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    /// What keeps the container alive; the runner `exec`s its steps into it.
    pub cmd: Vec<String>,
}

/// A container name from parts: Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn container_name(run_id: &str, job: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("sglci-{}-{}", clean(run_id), clean(job))
}

/// Which GPUs a container gets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gpus {
    /// Every GPU of the host.
    #[default]
    All,
    /// These GPUs (host indexes).
    Devices(Vec<u32>),
}

impl std::str::FromStr for Gpus {
    type Err = String;
    /// `all`, or GPU indexes `0,1,2,3`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(Self::All);
        }
        let ids = s
            .split(',')
            .map(|i| i.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|ids| !ids.is_empty() && ids.len() <= 64);
        ids.map(Self::Devices)
            .ok_or_else(|| format!("--gpus `{s}`: expected `all` or GPU indexes like `0,1,2,3`"))
    }
}

/// An NVIDIA device request (what `docker run --gpus` sends): the `nvidia` driver with the
/// `gpu` capability, for every GPU or the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuRequest {
    /// `None`: all GPUs (`Count: -1`).
    pub device_ids: Option<Vec<String>>,
}

/// What a container is for: the run and job it belongs to, the image and hardware, and what the
/// flags add.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub run_id: &'a str,
    pub job: &'a str,
    pub image: &'a str,
    pub hardware: &'a str,
    pub env: &'a BTreeMap<String, String>,
    /// `HOST[:CONTAINER]` devices; they replace the AMD defaults when given.
    pub devices: &'a [String],
    pub gpus: &'a Gpus,
    pub mounts: &'a [Mount],
}

/// The container for a run on `hardware`: AMD GPUs through `/dev/kfd` and `/dev/dri` (groups
/// `video` and `render`; a GPU list becomes `HIP_VISIBLE_DEVICES`), NVIDIA GPUs through a
/// device request (all, or the list, which the container then numbers from 0:
/// `CUDA_VISIBLE_DEVICES` says so), host network and IPC, a 16 GiB `/dev/shm`, the extra
/// devices and the mounts.
pub fn spec(p: &Placement<'_>) -> ContainerSpec {
    let vendor = p
        .hardware
        .parse::<sglci_core::Hardware>()
        .map_or(sglci_core::Vendor::Cpu, |h| h.vendor());
    let amd = vendor == sglci_core::Vendor::Amd;
    let devices: Vec<(String, String)> = if p.devices.is_empty() {
        if amd {
            vec![
                ("/dev/kfd".to_owned(), "/dev/kfd".to_owned()),
                ("/dev/dri".to_owned(), "/dev/dri".to_owned()),
            ]
        } else {
            Vec::new()
        }
    } else {
        p.devices
            .iter()
            .map(|d| match d.split_once(':') {
                Some((h, c)) => (h.to_owned(), c.to_owned()),
                None => (d.clone(), d.clone()),
            })
            .collect()
    };
    let mut env = p.env.clone();
    let list = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>();
    let gpu_request = match (vendor, p.gpus) {
        (sglci_core::Vendor::Nvidia, Gpus::All) => Some(GpuRequest { device_ids: None }),
        (sglci_core::Vendor::Nvidia, Gpus::Devices(ids)) => {
            let inside: Vec<String> = (0..ids.len()).map(|i| i.to_string()).collect();
            env.entry("CUDA_VISIBLE_DEVICES".to_owned())
                .or_insert_with(|| inside.join(","));
            Some(GpuRequest {
                device_ids: Some(list(ids)),
            })
        }
        (sglci_core::Vendor::Amd, Gpus::Devices(ids)) => {
            env.entry("HIP_VISIBLE_DEVICES".to_owned())
                .or_insert_with(|| list(ids).join(","));
            None
        }
        _ => None,
    };
    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_LABEL.to_owned(), "true".to_owned());
    labels.insert(RUN_LABEL.to_owned(), p.run_id.to_owned());
    labels.insert("sglci.job".to_owned(), p.job.to_owned());
    labels.insert("sglci.hardware".to_owned(), p.hardware.to_owned());
    ContainerSpec {
        name: container_name(p.run_id, p.job),
        image: p.image.to_owned(),
        env,
        devices,
        gpu_request,
        groups: if amd {
            vec!["video".to_owned(), "render".to_owned()]
        } else {
            Vec::new()
        },
        mounts: p.mounts.to_vec(),
        labels,
        shm_size_bytes: 16 << 30,
        network_host: true,
        ipc_host: true,
        cap_add: vec!["SYS_PTRACE".to_owned()],
        security_opt: vec!["seccomp=unconfined".to_owned()],
        cmd: vec!["sleep".to_owned(), "infinity".to_owned()],
    }
}

/// Parses `HOST:CONTAINER[:ro]` mount flags.
pub fn parse_mount(s: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [h, c] if h.starts_with('/') && c.starts_with('/') => Ok(Mount {
            host: (*h).to_owned(),
            container: (*c).to_owned(),
            read_only: false,
        }),
        [h, c, "ro"] if h.starts_with('/') && c.starts_with('/') => Ok(Mount {
            host: (*h).to_owned(),
            container: (*c).to_owned(),
            read_only: true,
        }),
        _ => Err(format!(
            "mount `{s}`: expected /HOST/PATH:/CONTAINER/PATH[:ro] (absolute paths)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place<'a>(
        hardware: &'a str,
        devices: &'a [String],
        gpus: &'a Gpus,
        env: &'a BTreeMap<String, String>,
    ) -> ContainerSpec {
        spec(&Placement {
            run_id: "r1",
            job: "grok/GROK1",
            image: "img",
            hardware,
            env,
            devices,
            gpus,
            mounts: &[],
        })
    }

    #[test]
    fn amd_defaults_and_overrides() {
        let none = BTreeMap::new();
        let s = place("mi30x", &[], &Gpus::All, &none);
        assert_eq!(s.name, "sglci-r1-grok_GROK1");
        assert_eq!(s.devices.len(), 2);
        assert_eq!(s.groups, ["video", "render"]);
        assert_eq!(s.gpu_request, None);
        assert_eq!(
            s.labels.get(MANAGED_LABEL).map(String::as_str),
            Some("true")
        );
        let kfd = ["/dev/null:/dev/kfd".to_owned()];
        let s = place("mi35x", &kfd, &Gpus::All, &none);
        assert_eq!(s.devices, [("/dev/null".to_owned(), "/dev/kfd".to_owned())]);
        let s = place("mi35x", &[], &"4,5".parse().expect("gpus"), &none);
        assert_eq!(
            s.env.get("HIP_VISIBLE_DEVICES").map(String::as_str),
            Some("4,5")
        );
        let s = place("cpu", &[], &Gpus::All, &none);
        assert!(s.devices.is_empty() && s.groups.is_empty() && s.gpu_request.is_none());
        assert!(parse_mount("/data:/data:ro").expect("mount").read_only);
        assert!(parse_mount("data:/data").is_err());
    }

    #[test]
    fn nvidia_gets_a_device_request() {
        let none = BTreeMap::new();
        let s = place("h200", &[], &Gpus::All, &none);
        assert_eq!(s.gpu_request, Some(GpuRequest { device_ids: None }));
        assert!(s.devices.is_empty() && s.groups.is_empty());
        assert!(!s.env.contains_key("CUDA_VISIBLE_DEVICES"));
        let s = place("h100", &[], &"2,3".parse().expect("gpus"), &none);
        assert_eq!(
            s.gpu_request.and_then(|r| r.device_ids),
            Some(vec!["2".to_owned(), "3".to_owned()])
        );
        // The container numbers the two GPUs it gets 0 and 1.
        assert_eq!(
            s.env.get("CUDA_VISIBLE_DEVICES").map(String::as_str),
            Some("0,1")
        );
        assert!("0,x".parse::<Gpus>().is_err());
        assert!("".parse::<Gpus>().is_err());
    }
}
