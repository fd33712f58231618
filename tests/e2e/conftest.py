import pytest

from .harness import JupyterLab, NotebookPage, chromium


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = JupyterLab(tmp_path_factory.mktemp("lab"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.page_errors = errors
    yield p
    context.close()
    # the page is gone: so are the kernels it started (a session-scoped server would otherwise keep one per test)
    for server in list(JupyterLab.running):
        server.shutdown_kernels()


@pytest.fixture
def open_notebook(lab, page):
    from .harness import write_notebook

    def _open(name: str, cells: list[str]) -> NotebookPage:
        write_notebook(lab.root / name, cells)
        nb = NotebookPage(page, lab, name)
        nb.open()
        return nb

    return _open
