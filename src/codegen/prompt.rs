//! Prompt rendering with minijinja templates.
//!
//! The templates ship in `prompts/` (compiled into the binary); a file of the same name in the
//! user's config dir (`<config>/ai-tools/prompts/`) overrides one. Templates get two helper
//! functions: `fence(text)` (a backtick fence longer than any run inside `text`) and
//! `lang_of(path)` (the fence info string for a path).

use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior};

use crate::codegen::lang;
use crate::task::relpath::RelPath;

/// Built-in templates by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("codegen-system.md.j2", include_str!("../../prompts/codegen-system.md.j2")),
    ("codegen.md.j2", include_str!("../../prompts/codegen.md.j2")),
    ("codegen-edit.md.j2", include_str!("../../prompts/codegen-edit.md.j2")),
    ("regen.md.j2", include_str!("../../prompts/regen.md.j2")),
    ("repair-system.md.j2", include_str!("../../prompts/repair-system.md.j2")),
    ("repair-python.md.j2", include_str!("../../prompts/repair-python.md.j2")),
    ("repair-typescript.md.j2", include_str!("../../prompts/repair-typescript.md.j2")),
    ("repair-rust.md.j2", include_str!("../../prompts/repair-rust.md.j2")),
    ("repair-go.md.j2", include_str!("../../prompts/repair-go.md.j2")),
    ("repair.md.j2", include_str!("../../prompts/repair.md.j2")),
];

/// A template that failed to load or render.
#[derive(Debug, thiserror::Error)]
#[error("prompt template {name}: {message}")]
pub struct PromptError {
    /// Template name.
    pub name: String,
    /// minijinja's message (with line).
    pub message: String,
}

/// The loaded prompt templates.
pub struct Prompts {
    env: Environment<'static>,
    overrides: Vec<PathBuf>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts").field("overrides", &self.overrides).finish()
    }
}

impl Prompts {
    /// Loads the built-in templates, then overrides from `override_dir` when given.
    ///
    /// # Errors
    /// [`PromptError`] for a template that does not compile.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_function("fence", |text: Option<String>| lang::fence_for(text.as_deref().unwrap_or("")));
        env.add_function("lang_of", |path: String| {
            RelPath::new(&path).map(|p| lang::file_type(&p).fence.to_owned()).unwrap_or_default()
        });
        let mut overrides = Vec::new();
        for (name, builtin) in BUILTIN {
            let user = override_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let source = match &user {
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| PromptError { name: p.display().to_string(), message: e.to_string() })?,
                None => (*builtin).to_owned(),
            };
            if let Some(p) = user {
                overrides.push(p);
            }
            env.add_template_owned(*name, source)
                .map_err(|e| PromptError { name: (*name).to_owned(), message: e.to_string() })?;
        }
        Ok(Self { env, overrides })
    }

    /// User templates that replaced built-in ones.
    pub fn overrides(&self) -> &[PathBuf] {
        &self.overrides
    }

    /// Renders template `name` with the serializable `ctx`.
    ///
    /// # Errors
    /// [`PromptError`] with minijinja's message.
    pub fn render<T: serde::Serialize>(&self, name: &str, ctx: &T) -> Result<String, PromptError> {
        let err = |e: minijinja::Error| PromptError { name: name.to_owned(), message: format!("{e:#}") };
        let t = self.env.get_template(name).map_err(err)?;
        t.render(Value::from(Serde(ctx))).map_err(err)
    }
}

/// The user's prompt override directory: `<config dir>/ai-tools/prompts`.
pub fn user_prompt_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ai-tools").map(|d| d.config_dir().join("prompts"))
}
