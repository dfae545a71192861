"""Guess a project file from a folder of delivered files (``popbase init``)."""

from popbase.guess.project import NothingToGuessError, ProjectGuess, guess_project
from popbase.guess.project_file import init_project
from popbase.guess.render import project_text, summarize

__all__ = [
    "NothingToGuessError",
    "ProjectGuess",
    "guess_project",
    "init_project",
    "project_text",
    "summarize",
]
