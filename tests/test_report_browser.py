"""`aekit report` pages in a real browser: the system's headless Chromium (Debian's chromium and
chromium-driver; .ci/run installs them) driven by Selenium. No console errors, every image decoded,
hovering a latent-map point shows its image, clicking the 2-d map shows a decoded image, a legend
click hides a curve; a screenshot is saved (tests/../docs/report-screenshot.png when asked)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from aekit.apps.cli import main
from aekit.apps.report import write_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install 'aekit[dev]')")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no system Chromium and chromedriver (apt-get install chromium chromium-driver; .ci/run does it)",
)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

TINY = {
    "model": {"name": "dense", "hidden": [32], "code_size": 2},
    "data": {"name": "mnist-mini", "val_fraction": 0.2, "limit": 400, "test_limit": 300},
    "train": {"epochs": 4, "batch_size": 20, "lr": 0.005, "progress": False},  # enough to decode digits
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The report of two tiny runs: one with a 2-d code, one with a 3-d code (a PCA plane)."""
    root = tmp_path_factory.mktemp("browser")
    runs = []
    for code_size in (2, 3):
        config = root / f"c{code_size}.yaml"
        config.write_text(yaml.safe_dump({**TINY, "model": {**TINY["model"], "code_size": code_size}}))
        name = f"code{code_size}"
        assert main(["train", str(config), f"output.dir={root}", f"output.name={name}", "--quiet"]) == 0
        runs.append(root / name)
    return write_report(runs, root / "report.html")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    tmp = str(tmp_path_factory.mktemp("chromium"))  # (chromium left an org.chromium.Chromium.* folder in /tmp a run)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(
        executable_path=DRIVER, env={**os.environ, "TMPDIR": tmp}))
    yield driver
    driver.quit()


def test_report_works_in_a_real_browser(report, browser, tmp_path):
    size = report.stat().st_size
    assert size < 3_000_000, size  # a few MB at most
    browser.get(report.as_uri())
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"  # the script ran to its end

    # every image decoded: the gallery's pictures and the maps' hover and decoded images
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) >= 6
    widths = browser.execute_script("return [...document.images].map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 0 for w in widths), widths

    # hovering a point of the 2-d latent map shows its input image and label
    explorer = browser.find_element(By.ID, "map1")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", explorer)  # all of it in view
    data = json.loads(explorer.find_element(By.CSS_SELECTOR, "script.plot-data").get_attribute("textContent"))
    assert data["code_size"] == 2 and data["axes"] == ["z[0]", "z[1]"] and len(data["points"]) == 300
    hover_img = explorer.find_element(By.CSS_SELECTOR, "img.hover-image")
    point = explorer.find_elements(By.CSS_SELECTOR, "path.pt")[17]
    ActionChains(browser).move_to_element(point).perform()
    hovered = int(explorer.get_attribute("data-hovered"))
    assert hover_img.get_attribute("src") == data["images"][hovered]
    caption = explorer.find_element(By.CSS_SELECTOR, ".hover-caption").text
    assert f"label \u2068{data['classes'][data['labels'][hovered]]}\u2069" in caption  # (isolated: an Arabic name)
    assert hover_img.get_attribute("alt") == f"the input of {caption}"

    # the keyboard's way (an accessibility review: mouse only): arrows step through the samples, Enter decodes there
    svg = explorer.find_element(By.CSS_SELECTOR, "svg.latent-map")
    svg.send_keys(Keys.ARROW_RIGHT)
    assert int(explorer.get_attribute("data-hovered")) == hovered + 1
    svg.send_keys(Keys.ARROW_DOWN)
    assert int(explorer.get_attribute("data-hovered")) == hovered + 11
    svg.send_keys(Keys.ENTER)
    x, y = data["points"][hovered + 11]
    near = [min(range(len(grid)), key=lambda k, grid=grid, t=t: abs(grid[k] - t)) for grid, t in
            ((data["grid"]["u"], x), (data["grid"]["v"], y))]
    assert explorer.get_attribute("data-decoded") == f"{near[0]},{near[1]}"

    # clicking the 2-d map shows the decoded image of the nearest lattice node
    decoded_img = explorer.find_element(By.CSS_SELECTOR, "img.decoded-image")
    first = decoded_img.get_attribute("src"), explorer.get_attribute("data-decoded")
    svg = explorer.find_element(By.CSS_SELECTOR, "svg.latent-map")
    ActionChains(browser).move_to_element_with_offset(svg, -180, -150).click().perform()
    i, j = map(int, explorer.get_attribute("data-decoded").split(","))
    assert f"{i},{j}" != first[1] and decoded_img.get_attribute("src") != first[0]
    assert decoded_img.get_attribute("src") == data["grid"]["images"][j * len(data["grid"]["u"]) + i]
    assert i < len(data["grid"]["u"]) // 2 and j > len(data["grid"]["v"]) // 2  # upper left: small u, large v
    assert browser.execute_script("return arguments[0].naturalWidth", decoded_img) > 0

    # a class toggled off in the legend hides its points
    legend = explorer.find_element(By.CSS_SELECTOR, ".legend")
    first_class = legend.find_elements(By.TAG_NAME, "button")[0]
    label = data["classes"].index(first_class.text)
    # a class's points differ from the others' in shape as in colour, and its legend button shows both (an
    # accessibility trial: the map told classes apart by colour alone)
    shapes = {p.get_attribute("data-label"): p.get_attribute("d") for p in explorer.find_elements(By.CSS_SELECTOR, "path.pt")}
    assert len(set(shapes.values())) == len(shapes) == len(set(data["labels"])) > 1
    swatch = first_class.find_element(By.CSS_SELECTOR, "svg.swatch path")
    assert swatch.get_attribute("d") == shapes[str(label)] and swatch.get_attribute("fill") == data["colours"][str(label)]
    first_class.click()
    hidden = [p for p in explorer.find_elements(By.CSS_SELECTOR, "path.pt") if not p.is_displayed()]
    assert len(hidden) == data["labels"].count(label) > 0

    # the learning curves: hovering shows values, a legend click hides a curve
    curves = browser.find_element(By.ID, "all-curves")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", curves)
    ActionChains(browser).move_to_element(curves.find_element(By.TAG_NAME, "svg")).perform()
    tip = curves.find_element(By.CSS_SELECTOR, ".tooltip")
    assert tip.is_displayed() and "epoch" in tip.text and "code2 (train)" in tip.text
    series = curves.find_elements(By.CSS_SELECTOR, "g.series")
    assert [s.get_attribute("data-series") for s in series] == [
        "code2 (train)", "code2 (val)", "code3 (train)", "code3 (val)"]
    labels = [t.text for t in curves.find_elements(By.CSS_SELECTOR, "g.axis text")]
    assert {"1", "2", "3", "4"} <= set(labels) and not [t for t in labels if t.endswith(".5")]  # epochs are whole (ticks read 1.5)
    button = curves.find_elements(By.CSS_SELECTOR, ".legend button")[1]
    assert button.get_attribute("aria-pressed") == "true"
    button.click()
    assert not series[1].is_displayed() and series[0].is_displayed()
    assert button.get_attribute("aria-pressed") == "false"  # (an accessibility trial: the state was a colour alone)
    # the values as a table, for a screen reader and without scripts (they were on a mouse's hover alone)
    values = browser.find_element(By.XPATH, "//div[@id='all-curves']/following-sibling::details[1]")
    heads = [th.get_attribute("textContent") for th in values.find_elements(By.TAG_NAME, "th")]
    assert heads == ["epoch", "code2 (train)", "code2 (val)", "code3 (train)", "code3 (val)"]
    assert len(values.find_elements(By.CSS_SELECTOR, "tbody tr")) == 4  # an epoch a row

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors

    # a screenshot of the 2-d latent map after the interactions, for a person to look at
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -60)", explorer)
    ActionChains(browser).move_to_element(explorer.find_elements(By.CSS_SELECTOR, "path.pt")[5]).perform()
    shot = tmp_path / "report-latent-map.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("AEKIT_SAVE_SCREENSHOT"):  # a copy for the README (docs/)
        shutil.copy(shot, os.environ["AEKIT_SAVE_SCREENSHOT"])


def test_a_map_of_many_label_values_has_one_colour_scale(browser, tmp_path):
    """A table whose target column takes 30 values (read as 30 classes) was shown with 30 legend buttons
    in ten colours repeating (an inspection trial): more classes than MANY_LABELS get one scale instead."""
    import numpy as np

    rng = np.random.default_rng(0)
    target = rng.integers(0, 30, 300)
    x = rng.normal(size=(300, 6)) + target[:, None] / 10
    rows = ["a,b,c,d,e,f,target"] + [",".join(f"{v:.4f}" for v in r) + f",{t}" for r, t in zip(x, target)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    assert main(["train", f"data.name={tmp_path / 'table.csv'}", "model.name=dense", "model.code_size=2",
                 "train.epochs=2", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    page = write_report([tmp_path / "run"], tmp_path / "report.html")
    browser.get(page.as_uri())
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    explorer = browser.find_element(By.CSS_SELECTOR, ".latent-explorer")
    data = json.loads(explorer.find_element(By.CSS_SELECTOR, "script.plot-data").get_attribute("textContent"))
    assert data["scale"] and len(data["colours"]) == len(set(data["colours"])) == 30
    legend = explorer.find_element(By.CSS_SELECTOR, ".legend")
    assert not legend.find_elements(By.TAG_NAME, "button") and legend.find_element(By.CSS_SELECTOR, ".scale-bar")
    ends = [e.text for e in legend.find_elements(By.CSS_SELECTOR, ".scale-end")]
    names = data["classes"] or [str(k) for k in range(30)]
    assert ends == [names[0], names[-1]]
    fills = {p.get_attribute("fill") for p in explorer.find_elements(By.CSS_SELECTOR, "path.pt")}
    assert len(fills) == len(set(data["labels"])) > 20  # a colour a value, none repeated
    assert "click a class to hide it" not in browser.find_element(By.TAG_NAME, "body").text
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_phone_wide_window_scrolls_no_page_sideways_and_the_map_still_decodes_where_clicked(report, browser, tmp_path):
    """A browser trial: at 375 px the page laid out 815-1006 px wide (tables, the fixed-width plots), and a run name
    without hyphens made it 2,404 px wide at 1,400 px. Tables scroll in their own box, plots are drawn smaller and
    the map's clicks are read in the drawing's units."""
    import shutil as sh

    long = tmp_path / ("dense_mnist_" + "x" * 150)
    sh.copytree(report.parent / "code2", long)
    wide = write_report([long, report.parent / "code3"], tmp_path / "long.html")
    try:
        for page, width in ((wide, 1400), (report, 375), (wide, 375)):
            browser.set_window_size(width, 900)
            browser.get(page.as_uri())
            inner, scroll = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            assert scroll <= inner, (page.name, width, scroll, inner)
        browser.get(report.as_uri())
        explorer = browser.find_element(By.ID, "map1")
        svg = explorer.find_element(By.CSS_SELECTOR, "svg.latent-map")
        assert svg.size["width"] < 560  # drawn smaller
        data = json.loads(explorer.find_element(By.CSS_SELECTOR, "script.plot-data").get_attribute("textContent"))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", svg)
        ActionChains(browser).move_to_element_with_offset(svg, -svg.size["width"] // 3, -svg.size["height"] // 3).click().perform()
        i, j = map(int, explorer.get_attribute("data-decoded").split(","))
        assert i < len(data["grid"]["u"]) // 2 and j > len(data["grid"]["v"]) // 2  # upper left, as clicked
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.set_window_size(1400, 1000)


def test_the_summary_sorts_by_a_column_and_many_runs_curves_are_not_drawn_together(report, browser, tmp_path, monkeypatch):
    """A lab's trial: 215 runs' summary could not be sorted (the test error only inside a sentence) and one chart
    drew 424 curves with a legend no one could read."""
    from aekit.apps import report as report_module

    runs = [report.parent / "code2", report.parent / "code3"]
    copies = [shutil.copytree(run, tmp_path / f"copy{i}") for i, run in enumerate(runs * 2)]
    metrics = [json.loads((run / "metrics.json").read_text()) for run in copies]
    for i, (run, m) in enumerate(zip(copies, metrics)):
        m["squared_error_per_sample"] = [30.5, 9.25, 100.0, 12.0][i]
        (run / "metrics.json").write_text(json.dumps(m))
    del metrics[3]["squared_error_per_sample"]  # a run without the figure sorts last either way
    (copies[3] / "metrics.json").write_text(json.dumps(metrics[3]))
    page = write_report(copies, tmp_path / "r.html")
    browser.get(page.as_uri())
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    column = 1 + report_module._summary_view([])["headers"].index("squared error per sample")

    def order():
        return [row.find_element(By.TAG_NAME, "a").text for row in browser.find_elements(By.CSS_SELECTOR, "table.summary tbody tr")]

    button = browser.find_elements(By.CSS_SELECTOR, "table.summary th button.sort")[column]
    button.click()
    assert order() == ["copy1", "copy0", "copy2", "copy3"]
    button.click()
    assert order() == ["copy2", "copy0", "copy1", "copy3"]
    assert browser.find_elements(By.CSS_SELECTOR, "table.summary th")[column].get_attribute("aria-sort") == "descending"
    assert 'id="all-curves' in page.read_text()  # four models' curves: drawn together
    monkeypatch.setattr(report_module, "CURVES_TOGETHER", 3)
    page = write_report(copies, tmp_path / "many.html").read_text()
    assert "The learning curves of 4 models are not drawn together (at most 3)" in page and 'id="all-curves' not in page
