//! The plan as a graph: the `depends_on` DAG of planned files and its waves.

pub mod dag;
