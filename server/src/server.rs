//! Starting and stopping: [`serve`] builds the desk and the notification
//! courier from the config, runs the routes on a listener until `shutdown`
//! resolves, then closes every socket itself (axum does not wait for
//! upgraded connections), stops the courier, and closes the database.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::assistant;
use crate::config::Config;
use crate::desk::{Desk, relay};
use crate::knowledge::{Knowledge, KnowledgeBase};
use crate::notify::{self, Signer};
use crate::store::{Backend, Store};
use crate::team;
use crate::transport::{AppState, Assets, Origins, RateLimits, app};

/// The demo knowledge base, used when the config names none.
pub const DEMO_KNOWLEDGE_BASE: &str = include_str!("../../eval/kb-shop.md");

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("knowledge base {path}: {message}")]
    KnowledgeBase { path: String, message: String },
    #[error("{0}")]
    Assistant(String),
    #[error("{0}")]
    Embeddings(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("demo agent: {0}")]
    Team(#[from] team::TeamError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs Baton on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = Store::connect(&config.database_url).await?;
    // No widget socket outlives a run: whoever was connected has left. With
    // several nodes (PostgreSQL) the others' visitors are still there, so
    // the counts stay as the sockets leave them.
    if store.backend() == Backend::Sqlite {
        store.reset_presence(crate::clock::now()).await?;
    }
    tracing::info!(
        backend = store.backend().as_str(),
        node = store.node(),
        "database ready"
    );
    let (kb, kb_markdown) = load_knowledge_base(&config)?;
    tracing::info!(articles = kb.articles(), "knowledge base loaded");
    let knowledge = Knowledge::new(
        kb.with_model(&config.embeddings)
            .await
            .map_err(|e| ServeError::Embeddings(e.to_string()))?,
    );
    // What agents taught, on this node or any other, before the first turn.
    knowledge.learn_or_warn(&store).await;
    let assistant = assistant::build(&config.assistant, knowledge.clone(), &kb_markdown)
        .map_err(ServeError::Assistant)?;
    tracing::info!(
        backend = config.assistant.backend.as_str(),
        "assistant ready"
    );
    if config.demo {
        ensure_demo_agent(&store).await?;
    }
    let signer = Signer::new(&match &config.secret {
        Some(secret) => secret.clone(),
        // Generated once, so links stay valid across restarts.
        None => {
            store
                .setting_or_insert("secret", &crate::secret::new_token())
                .await?
        }
    });
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let (dispatch, courier) = notify::outbox(
        store.clone(),
        signer.clone(),
        public_url,
        config.notifications.clone(),
    );
    let desk = Desk::new(
        store.clone(),
        assistant,
        knowledge.clone(),
        &config,
        dispatch,
        signer,
    );
    let (stop_sockets, shutdown_rx) = watch::channel(false);
    let sockets = TaskTracker::new();
    // The courier stops with the sockets; its outbox waits in the database.
    sockets.spawn(courier.run(shutdown_rx.clone()));
    if store.backend() == Backend::Postgres {
        let relay = relay::start(
            &config.database_url,
            store.clone(),
            desk.hub().clone(),
            knowledge,
            shutdown_rx.clone(),
        )
        .await
        .map_err(crate::store::StoreError::from)?;
        sockets.spawn(async move {
            for task in relay {
                let _ = task.await;
            }
        });
    }
    let state = AppState {
        desk,
        assets: Arc::new(Assets::discover(&config.assets_dir)),
        shutdown: shutdown_rx,
        sockets: sockets.clone(),
        rate_limits: Arc::new(RateLimits::new(&config.limits)),
        origins: Arc::new(Origins::new(config.visitors.allowed_origins.as_deref())),
        public_origin: config
            .public_url
            .as_deref()
            .map(|url| crate::transport::origins::origin_of(url).into()),
        metrics: Arc::new(config.metrics.clone()),
    };

    // Small frames go out at once, not after the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
    });
    // The peer address feeds the per-address rate limit.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_sockets.send(true);
    })
    .await?;
    sockets.close();
    sockets.wait().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The knowledge base, parsed, and its Markdown (LLM backends send it as
/// context).
fn load_knowledge_base(config: &Config) -> Result<(KnowledgeBase, String), ServeError> {
    let (path, text) = match &config.knowledge_base {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ServeError::KnowledgeBase {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            (path.display().to_string(), text)
        }
        None => ("(demo)".to_string(), DEMO_KNOWLEDGE_BASE.to_string()),
    };
    let kb = KnowledgeBase::parse(&text).map_err(|e| ServeError::KnowledgeBase {
        path,
        message: e.to_string(),
    })?;
    Ok((kb, text))
}

/// Demo mode: make sure someone can sign in to the console.
async fn ensure_demo_agent(store: &Store) -> Result<(), ServeError> {
    let (email, name, password) = team::DEMO_AGENT;
    match team::add_agent(store, email, name, password).await {
        Ok(_) | Err(team::TeamError::Taken(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
