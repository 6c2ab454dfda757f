"""The one place our pipeline components meet Rasa's graph constructor.

Rasa builds every component through `create(config, model_storage, resource, execution_context)`
(and, once trained, `load(...)` with the same arguments); each of ours needs only some of them.
`PipelineComponent` takes Rasa's four arguments once, as a `Graph`, and asks the component's
`from_graph` for an instance, so the long signature is written here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

C = TypeVar("C", bound="PipelineComponent")


@dataclass(frozen=True)
class Graph:
    """Where Rasa keeps a component's trained files, and the node it runs as."""

    model_storage: ModelStorage
    resource: Resource
    execution_context: ExecutionContext


class PipelineComponent(GraphComponent):
    """A graph component built from its config and the `Graph` it runs in."""

    @classmethod
    def from_graph(cls: type[C], config: dict[str, Any], graph: Graph, trained: bool) -> C:
        """This component for `config`; `trained` when Rasa loads it from a trained model."""
        raise NotImplementedError

    @classmethod
    def create(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> C:
        return cls.from_graph(config, Graph(model_storage, resource, execution_context), False)

    @classmethod
    def load(
        cls: type[C],
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> C:
        return cls.from_graph(config, Graph(model_storage, resource, execution_context), True)
