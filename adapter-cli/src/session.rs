//! Opening the store and finding the admin who acts.

use std::collections::HashMap;
use std::sync::Arc;

use shiftdesk_core::Service;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, ShiftId};
use shiftdesk_core::shift::ShiftTemplate;
use shiftdesk_core::staff::{Actor, Agent, Context, Role};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{Login, ShiftName};
use shiftdesk_core::time::SystemClock;
use shiftdesk_http::config::DatabaseUrl;
use shiftdesk_http::database::open_store;

use crate::failure::{Failure, with_sources};

/// Parses `--database-url` as the server does.
pub(crate) fn database_url(raw: &str) -> Result<DatabaseUrl, Failure> {
    DatabaseUrl::parse(raw).map_err(|error| Failure::input(format!("--database-url: {error}")))
}

/// An open store, the service over it, and the admin acting.
pub(crate) struct Session {
    /// The store, for a second service with a clock of its own (the demo's history).
    pub(crate) store: Arc<dyn Store>,
    /// The service, with the server's rules.
    pub(crate) service: Service,
    /// The acting admin, named in every audit record.
    pub(crate) ctx: Context,
}

impl Session {
    /// Opens (and migrates) the store and checks that `login` (or `USER`) is an active admin.
    pub(crate) async fn open(url: &DatabaseUrl, login: Option<&str>) -> Result<Self, Failure> {
        // Only `db migrate` creates a database file: a mistyped path is not a new team.
        if let DatabaseUrl::Sqlite(path) = url
            && !path.exists()
        {
            return Err(Failure::Store(format!(
                "{}: the file does not exist; `shiftdesk db migrate` creates it",
                path.display()
            )));
        }
        let (store, service) = open_service(url).await?;
        let login = match login {
            Some(login) => login.to_owned(),
            None => std::env::var("USER").map_err(|_| {
                Failure::input("--as: no admin named and USER is not set; pass --as LOGIN")
            })?,
        };
        let admin = find_admin(&service, &login).await?;
        tracing::debug!(admin = %admin.login, "acting admin found");
        let ctx = Context::new(Actor::admin(admin.id));
        Ok(Self {
            store,
            service,
            ctx,
        })
    }

    /// Every staff member and shift template, to turn names into ids and back.
    pub(crate) async fn directory(&self) -> Result<Directory, Failure> {
        let agents = self.service.agents(&self.ctx).await?;
        let shifts = self.service.shifts(&self.ctx).await?;
        Ok(Directory::new(agents, shifts))
    }
}

/// Opens the store as the server does and puts the service over it.
pub(crate) async fn open_service(url: &DatabaseUrl) -> Result<(Arc<dyn Store>, Service), Failure> {
    let opened = open_store(url)
        .await
        .map_err(|error| Failure::Store(format!("{}: {}", url.redacted(), with_sources(&error))))?;
    let service = Service::new(
        opened.store.clone(),
        Arc::new(SilentNotifier),
        Arc::new(SystemClock),
    );
    Ok((opened.store, service))
}

async fn find_admin(service: &Service, login: &str) -> Result<Agent, Failure> {
    let refused = |why: &str| Failure::input(format!("--as {login}: {why}"));
    let parsed = Login::parse(login).map_err(|problem| refused(&problem.to_string()))?;
    // Reading the staff list to learn who is asking is Shiftdesk's own business.
    let staff = service.agents(&Context::new(Actor::System)).await?;
    if staff.is_empty() {
        return Err(refused(
            "the database has no staff yet; run `shiftdesk db migrate` to create the first admin",
        ));
    }
    let found = staff.into_iter().find(|agent| agent.login == parsed);
    match found {
        None => Err(refused("no staff member has this login")),
        Some(agent) if !agent.active => Err(refused("this staff member is deactivated")),
        Some(agent) if agent.role != Role::Admin => Err(refused("only admins may use this tool")),
        Some(agent) => Ok(agent),
    }
}

/// Names to ids and back, read once per command.
pub(crate) struct Directory {
    /// Every staff member, in id order.
    pub(crate) agents: Vec<Agent>,
    /// Every shift template, in id order.
    pub(crate) shifts: Vec<ShiftTemplate>,
    agent_by_login: HashMap<String, usize>,
    agent_by_id: HashMap<AgentId, usize>,
    shift_by_name: HashMap<String, usize>,
    shift_by_id: HashMap<ShiftId, usize>,
}

impl Directory {
    fn new(agents: Vec<Agent>, shifts: Vec<ShiftTemplate>) -> Self {
        let agent_by_login = index(&agents, |agent| agent.login.as_str().to_owned());
        let agent_by_id = index(&agents, |agent| agent.id);
        let shift_by_name = index(&shifts, |shift| shift.name.as_str().to_owned());
        let shift_by_id = index(&shifts, |shift| shift.id);
        Self {
            agents,
            shifts,
            agent_by_login,
            agent_by_id,
            shift_by_name,
            shift_by_id,
        }
    }

    /// The staff member who logs in as `login` (compared lower-cased, as logins are stored).
    pub(crate) fn agent(&self, login: &str) -> Option<&Agent> {
        let login = Login::parse(login).ok()?;
        let at = self.agent_by_login.get(login.as_str())?;
        self.agents.get(*at)
    }

    /// The staff member with this id.
    pub(crate) fn agent_by_id(&self, id: AgentId) -> Option<&Agent> {
        self.agents.get(*self.agent_by_id.get(&id)?)
    }

    /// The login of `id`, or the id itself for someone unknown.
    pub(crate) fn login(&self, id: AgentId) -> String {
        self.agent_by_id(id)
            .map_or_else(|| format!("#{id}"), |agent| agent.login.to_string())
    }

    /// The shift template named `name` (exactly, after trimming).
    pub(crate) fn shift(&self, name: &str) -> Option<&ShiftTemplate> {
        let name = ShiftName::parse(name).ok()?;
        self.shifts.get(*self.shift_by_name.get(name.as_str())?)
    }

    /// The shift template with this id.
    pub(crate) fn shift_by_id(&self, id: ShiftId) -> Option<&ShiftTemplate> {
        self.shifts.get(*self.shift_by_id.get(&id)?)
    }

    /// The name of shift `id`, or the id itself for one removed.
    pub(crate) fn shift_name(&self, id: ShiftId) -> String {
        self.shift_by_id(id)
            .map_or_else(|| format!("#{id}"), |shift| shift.name.to_string())
    }

    /// Turns comma-separated logins into ids; every unknown one is named.
    pub(crate) fn agent_ids<'a>(
        &self,
        logins: impl IntoIterator<Item = &'a str>,
        field: &str,
    ) -> Result<Vec<AgentId>, Failure> {
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for login in logins {
            match self.agent(login) {
                Some(agent) => ids.push(agent.id),
                None => unknown.push(login.to_owned()),
            }
        }
        if unknown.is_empty() {
            Ok(ids)
        } else {
            Err(Failure::input(format!(
                "{field}: no staff member logs in as {}",
                unknown.join(", ")
            )))
        }
    }
}

fn index<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> HashMap<K, usize> {
    items
        .iter()
        .enumerate()
        .map(|(at, item)| (key(item), at))
        .collect()
}

/// Splits a comma-separated list, trimming each item and dropping empty ones.
pub(crate) fn split_list(raw: &str) -> Vec<&str> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}
