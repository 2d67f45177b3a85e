//! The MCP tools over the shopping API's product store, and the scopes each one needs.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::json;
use shopping_api::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Store};

/// The scopes each tool needs. The one definition of them: the per-operation check
/// ([`crate::gate`]) and the metadata's `scopes_supported` both read it, and a test holds it
/// equal to the tools rmcp serves.
pub const TOOL_SCOPES: [(&str, &[&str]); 2] = [
    ("list_products", &["read:products"]),
    ("add_product", &["write:products"]),
];

/// The scopes `tool` needs; `None` for a tool this server does not have.
pub fn required_scopes(tool: &str) -> Option<&'static [&'static str]> {
    TOOL_SCOPES
        .iter()
        .find(|(name, _)| *name == tool)
        .map(|(_, scopes)| *scopes)
}

/// The arguments of `list_products`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProducts {
    /// Products per page, 1 to 1,000 (default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page; omit it for the first page.
    pub cursor: Option<u64>,
}

/// The arguments of `add_product`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProduct {
    /// 1 to 200 characters, without control characters.
    pub name: String,
    /// The price in cents, from 1 to 2^53 - 1.
    pub price_cents: u64,
}

/// The MCP server: the tools over one product store, the same store type (and checks) as the
/// shopping API's `GET` and `POST /products`.
#[derive(Debug, Clone)]
pub struct Catalogue {
    store: Store,
    // Read by the code `tool_handler` generates.
    #[allow(dead_code)]
    tool_router: ToolRouter<Self>,
}

impl Catalogue {
    /// The tools over `store`.
    pub fn new(store: Store) -> Catalogue {
        Catalogue {
            store,
            tool_router: Self::tool_router(),
        }
    }

    /// The names of the tools rmcp serves.
    pub fn tool_names() -> Vec<String> {
        Self::tool_router()
            .list_all()
            .into_iter()
            .map(|tool| tool.name.into_owned())
            .collect()
    }
}

#[tool_router]
impl Catalogue {
    /// `GET /products` as a tool.
    #[tool(
        description = "List the products, oldest first, one page at a time (needs the scope \
                       read:products)."
    )]
    fn list_products(&self, Parameters(args): Parameters<ListProducts>) -> CallToolResult {
        let limit = args.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return refusal(&format!("limit must be 1 to {MAX_PAGE_SIZE}"));
        }
        let (products, next) = self.store.page(args.cursor.unwrap_or(0), limit);
        CallToolResult::structured(json!({ "products": products, "next_cursor": next }))
    }

    /// `POST /products` as a tool.
    #[tool(description = "Add a product to the catalogue (needs the scope write:products).")]
    fn add_product(&self, Parameters(args): Parameters<AddProduct>) -> CallToolResult {
        match self.store.create(&args.name, args.price_cents) {
            Ok(product) => CallToolResult::structured(json!(product)),
            Err(error) => refusal(error.description()),
        }
    }
}

/// A tool's own failure: MCP reports it in the result (`isError`), not as a protocol error, so
/// that the model sees why.
fn refusal(description: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(description)])
}

#[tool_handler]
impl ServerHandler for Catalogue {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "scopegate-mcp-example",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "A product catalogue. list_products needs read:products, add_product \
                 write:products; a call without the scope is refused with HTTP 403 \
                 insufficient_scope naming it.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tool without an entry in `TOOL_SCOPES` would reach rmcp unchecked: the two lists must
    /// name the same tools.
    #[test]
    fn every_tool_has_its_scopes() {
        let mut served = Catalogue::tool_names();
        served.sort();
        let mut scoped: Vec<String> = TOOL_SCOPES.iter().map(|(t, _)| t.to_string()).collect();
        scoped.sort();
        assert_eq!(served, scoped);
    }
}
