"""``popbase init``: write a project file guessed from a delivery, never over one."""

from __future__ import annotations

from pathlib import Path

from popbase.config import PROJECT_FILE
from popbase.errors import SourceFileError
from popbase.guess.project import ProjectGuess, guess_project
from popbase.guess.render import Summary, project_text, summarize

__all__ = ["init_project"]


def init_project(
    project: Path, folders: list[Path], *, force: bool = False
) -> tuple[Path, ProjectGuess, Summary]:
    """Guess a project from delivered files and write its ``popbase.yaml``.

    Parameters
    ----------
    project
        The project folder (created if missing).
    folders
        The folders of delivered files (the project folder itself when empty).
    force
        Overwrite an existing ``popbase.yaml``.

    Returns
    -------
    tuple
        The file written, the guess and its summary.

    Raises
    ------
    SourceFileError
        ``popbase.yaml`` exists and ``force`` is not set, or a folder does not exist.
    NothingToGuessError
        No file in the folders is a source or a map layer.
    """
    target = project / PROJECT_FILE
    if target.exists() and not force:
        raise SourceFileError(
            target,
            "already exists; `popbase init` does not overwrite a project file",
            "pass --force to replace it, or write the new one into another project folder",
        )
    folders = folders or [project]
    for folder in folders:
        if not folder.is_dir():
            raise SourceFileError(
                folder, "is not a folder", "give --from the folder of the delivered files"
            )
    guess = guess_project(folders)
    project.mkdir(parents=True, exist_ok=True)
    target.write_text(project_text(guess, project), encoding="utf-8")
    return target, guess, summarize(guess, project)
