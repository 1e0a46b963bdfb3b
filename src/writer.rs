//! The single writer: one thread owns the world and the DuckDB connection. Each mutating call
//! runs here, its rows are committed, the new snapshot is published, and only then is the call
//! answered. Calls queued together share one transaction (group commit).

use crate::elbv2::error::ApiError;
use crate::state::{Scope, World};
use crate::store::{Store, StoreError};
use arc_swap::ArcSwap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type WriteFn = Box<dyn FnOnce(&mut Scope) -> (bool, Reply) + Send>;

enum Job {
    Write {
        account: String,
        region: String,
        f: WriteFn,
    },
    Reset(oneshot::Sender<()>),
}

/// The handle callers use to run writes.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Job>,
}

/// What readers and the data plane see: the last committed world, and its generation.
pub struct Published {
    pub world: ArcSwap<World>,
    pub generation: watch::Sender<u64>,
}

const MAX_BATCH: usize = 256;

impl Writer {
    /// Starts the writer thread over a loaded store.
    pub fn start(mut store: Store, world: World) -> (Writer, Arc<Published>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let published = Arc::new(Published {
            world: ArcSwap::from_pointee(world.clone()),
            generation: watch::Sender::new(0),
        });
        let pubc = published.clone();
        std::thread::Builder::new()
            .name("localelb-writer".into())
            .spawn(move || {
                let mut world = world;
                let mut generation = 0u64;
                while let Some(first) = rx.blocking_recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    let mut replies: Vec<Reply> = Vec::new();
                    let mut resets = Vec::new();
                    let mut touched: Vec<(String, String)> = Vec::new();
                    let mut reset_err = None;
                    for job in jobs {
                        match job {
                            Job::Write { account, region, f } => {
                                let slot = world.scope_mut(&account, &region);
                                // The backup makes a failed call leave no trace.
                                let backup = slot.clone();
                                let (ok, reply) = f(Arc::make_mut(slot));
                                if !ok {
                                    *slot = backup;
                                }
                                touched.push((account, region));
                                replies.push(reply);
                            }
                            Job::Reset(done) => {
                                world = World::default();
                                touched.clear();
                                if let Err(e) = store.clear() {
                                    reset_err = Some(e);
                                }
                                resets.push(done);
                            }
                        }
                    }
                    let mut changes = Vec::new();
                    touched.sort();
                    touched.dedup();
                    for (a, r) in &touched {
                        if let Some(s) = world.scopes.get_mut(&(a.clone(), r.clone())) {
                            Arc::make_mut(s).take_changes(&mut changes);
                        }
                    }
                    let result = store.commit(&changes);
                    if let Err(e) = &result {
                        tracing::error!("commit failed, reloading from the store: {e}");
                        world = store.load().unwrap_or_default();
                    }
                    if let Some(e) = reset_err {
                        tracing::error!("reset failed: {e}");
                    }
                    pubc.world.store(Arc::new(world.clone()));
                    generation += 1;
                    pubc.generation.send_replace(generation);
                    let err = result.as_ref().err();
                    for r in replies {
                        r(err);
                    }
                    for d in resets {
                        let _ = d.send(());
                    }
                }
            })
            .expect("spawn writer thread");
        (Writer { tx }, published)
    }

    /// Runs `f` on the scope of (account, region) in the writer; a failed `f` changes nothing.
    pub async fn call<T: Send + 'static>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut Scope) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        let wf: WriteFn = Box::new(move |scope: &mut Scope| {
            let r = f(scope);
            let ok = r.is_ok();
            let reply: Reply = Box::new(move |err: Option<&StoreError>| {
                let _ = tx.send(match err {
                    Some(e) => Err(ApiError::Internal(format!("commit failed: {e}"))),
                    None => r,
                });
            });
            (ok, reply)
        });
        self.tx
            .send(Job::Write {
                account: account.into(),
                region: region.into(),
                f: wf,
            })
            .map_err(|_| ApiError::Internal("writer stopped".into()))?;
        rx.await
            .map_err(|_| ApiError::Internal("writer dropped the call".into()))?
    }

    /// Clears all state, committed before it returns.
    pub async fn reset(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Reset(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::elbv2::CallCtx;
    use api_models as m;

    fn ctx(app: &crate::App) -> CallCtx {
        CallCtx {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            config: app.config.clone(),
            health: app.health.clone(),
            now_ms: m::Timestamp::now().millis(),
        }
    }

    /// An in-memory server on a free port.
    async fn start() -> crate::Running {
        let cfg = Config {
            listen: "127.0.0.1:0".into(),
            ..Config::default()
        };
        crate::App::start(cfg).await.unwrap()
    }

    fn create_tg(name: &str, port: i32) -> m::Request {
        m::Request::CreateTargetGroup(m::CreateTargetGroupInput {
            name: Some(name.into()),
            protocol: Some("HTTP".into()),
            port: Some(port),
            vpc_id: Some("vpc-12345678".into()),
            ..Default::default()
        })
    }

    /// Concurrent creates of one name serialize in the writer: one target group, one ARN.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_creates_cannot_race_into_duplicates() {
        let running = start().await;
        let app = running.app.clone();
        let mut calls = Vec::new();
        for i in 0..32 {
            let app = app.clone();
            // Half the calls use the same settings (idempotent), half a different port (duplicate).
            let port = if i % 2 == 0 { 80 } else { 81 };
            calls.push(tokio::spawn(async move {
                app.call(ctx(&app), create_tg("race", port)).await
            }));
        }
        let mut arns = std::collections::BTreeSet::new();
        let mut dup = 0;
        for c in calls {
            match c.await.unwrap() {
                Ok(m::Response::CreateTargetGroup(out)) => {
                    arns.insert(
                        out.target_groups.unwrap()[0]
                            .target_group_arn
                            .clone()
                            .unwrap(),
                    );
                }
                Err(e) => {
                    assert_eq!(e.code(), "DuplicateTargetGroupName");
                    dup += 1;
                }
                Ok(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(arns.len(), 1, "one target group for one name");
        assert_eq!(dup, 16, "the other settings were refused");
        let world = app.published.world.load_full();
        assert_eq!(
            world
                .scope("000000000000", "us-east-1")
                .unwrap()
                .target_groups
                .len(),
            1
        );
    }

    /// A failed call leaves no trace: AddTags on [existing, unknown] tags neither.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_calls_roll_back() {
        let running = start().await;
        let app = running.app.clone();
        let created = app
            .call(
                ctx(&app),
                m::Request::CreateLoadBalancer(m::CreateLoadBalancerInput {
                    name: Some("rollback".into()),
                    subnets: Some(vec!["subnet-1".into(), "subnet-2".into()]),
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        let m::Response::CreateLoadBalancer(out) = created else {
            panic!()
        };
        let lb = out.load_balancers.unwrap()[0]
            .load_balancer_arn
            .clone()
            .unwrap();
        let bogus = lb.replace("rollback", "missing");
        let e = app
            .call(
                ctx(&app),
                m::Request::AddTags(m::AddTagsInput {
                    resource_arns: Some(vec![lb.clone(), bogus]),
                    tags: Some(vec![m::Tag {
                        key: Some("k".into()),
                        value: Some("v".into()),
                    }]),
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "LoadBalancerNotFound");
        let world = app.published.world.load_full();
        let scope = world.scope("000000000000", "us-east-1").unwrap();
        assert!(
            scope.load_balancers.get(&lb).unwrap().tags.is_empty(),
            "the first ARN's tags were rolled back"
        );
    }
}
