// popbase map dashboard: communities by resident population, street and district lines
// and names, buildings (footprints, or circles sized by residents) when zoomed in.
// Everything comes from this server's /api/: no tiles, fonts or glyphs from elsewhere
// (government networks are offline), so the style has no `glyphs` and names are drawn
// in the machine's own fonts.

import { renderTopChart, startTopChart, topCommunities } from "./chart.js";
import {
  BASE_STYLE,
  BUILDING_MIN_ZOOM,
  PALETTE,
  PICKABLE,
  SUPPRESSED_DRAWN_AS,
  addLayers,
  bboxOf,
  circleRadius,
  classColours,
  highlightCommunity,
  quantileBreaks,
  watchBuildings,
  whenCommunitiesDrawn,
} from "./layers.js";
import { OTHER_USE, USE_CLASSES, withUseClasses } from "./uses.js";

const VENDOR = new URL("./vendor/", import.meta.url);
const API = new URL("api/", document.baseURI);
const LANG_KEY = "popbase.lang";
// The bearer token lives for the browser tab only (sessionStorage), never in a cookie.
const SESSION_KEY = "popbase.session";
const BUILDING_LIMIT = 5000;
// Residents of the circles the legend shows (a walk-up, a mid-rise, a tower block).
const LEGEND_RESIDENTS = [10, 50, 200];

// Every UI string, in both languages.
const I18N = {
  zh: {
    pageTitle: "精细化人口底数",
    title: "精细化人口底数",
    switchTo: "English",
    totals: "总览",
    residents: "实有人口",
    usualResidents: "常住人口",
    floating: "流动人口",
    registered: "户籍人口",
    absent: "人不在户在",
    unknown: "待核实",
    unknownNote: "待核实：户籍在此，仅有无坐标的社保等在岗记录，居住地待走访核实，不计入实有人口",
    "level.district": "区",
    "level.street": "街镇",
    "level.community": "居委/村",
    legendTitle: "实有人口（按居委/村）",
    legendDistrict: "区界",
    legendStreet: "街镇界",
    legendUses: "建筑用途",
    legendSizes: "圆点面积：居住人口",
    legendSuppressed: "人数不公开",
    legendBuildingsZoom: "建筑在放大至 14 级后显示",
    "useClass.residential": "住宅",
    "useClass.mixed": "商住混合",
    "useClass.office": "办公",
    "useClass.commercial": "商业",
    "useClass.industrial": "工业仓储",
    "useClass.education": "教育",
    "useClass.health": "医疗卫生",
    "useClass.elderly_care": "养老",
    "useClass.public": "公共服务",
    "useClass.other": "其他或未注明",
    selectionTitle: "选中单元",
    selectionHint: "点击地图上的居委/村查看详情",
    topTitle: "实有人口前十的居委/村",
    loading: "正在加载…",
    failed: "加载失败：",
    noLibrary: "地图库缺失，请运行 make web",
    code: "代码",
    parent: "所属",
    households: "户数",
    density: "人口密度",
    densityUnit: "人/平方公里",
    area: "面积",
    areaUnit: "平方公里",
    persons: "人",
    snapshot: "数据快照",
    created: "生成时间",
    building: "建筑",
    address: "地址",
    use: "用途",
    floors: "层数",
    buildingResidents: "居住人口",
    rooms: "房间（居住人口）",
    floorN: "{n} 层",
    noRooms: "无房间记录",
    truncated: "建筑过多，仅显示 {n} 栋",
    "use.residential": "住宅",
    "use.school": "学校",
    "use.kindergarten": "幼儿园",
    "use.commercial": "商业",
    "use.elderly_care": "养老",
    "use.health": "医疗卫生",
    "use.mixed": "商住混合",
    "use.office": "办公",
    "use.industrial": "工业",
    "use.public": "公共服务",
    "use.education": "教育",
    signInTitle: "登录",
    username: "用户名",
    password: "密码",
    signIn: "登录",
    signOut: "退出",
    signInFailed: "用户名或密码错误",
    scope: "辖区",
  },
  en: {
    pageTitle: "Population Base",
    title: "Population Base",
    switchTo: "中文",
    totals: "Overview",
    residents: "residents",
    usualResidents: "Usual residents",
    floating: "Floating",
    registered: "Registered (hukou)",
    absent: "Registered, living elsewhere",
    unknown: "To be verified",
    unknownNote: "To be verified: registered here, only an unlocated record (such as social security) shows them in the city; where they live is to be checked, and they are not counted as residents",
    "level.district": "Districts",
    "level.street": "Streets/towns",
    "level.community": "Communities",
    legendTitle: "Residents per community",
    legendDistrict: "District boundary",
    legendStreet: "Street/town boundary",
    legendUses: "Building use",
    legendSizes: "Circle area: residents",
    legendSuppressed: "count not shown",
    legendBuildingsZoom: "Buildings show from zoom 14",
    "useClass.residential": "residential",
    "useClass.mixed": "mixed use",
    "useClass.office": "office",
    "useClass.commercial": "commercial",
    "useClass.industrial": "industrial, storage",
    "useClass.education": "education",
    "useClass.health": "health",
    "useClass.elderly_care": "elderly care",
    "useClass.public": "public services",
    "useClass.other": "other or not given",
    selectionTitle: "Selected unit",
    selectionHint: "Click a community on the map for its figures",
    topTitle: "Top 10 communities by residents",
    loading: "Loading…",
    failed: "Failed to load: ",
    noLibrary: "map library missing; run make web",
    code: "Code",
    parent: "Within",
    households: "Households",
    density: "Density",
    densityUnit: "per km²",
    area: "Area",
    areaUnit: "km²",
    persons: "",
    snapshot: "Snapshot",
    created: "Built",
    building: "Building",
    address: "Address",
    use: "Use",
    floors: "Floors",
    buildingResidents: "Residents",
    rooms: "Rooms (residents)",
    floorN: "Floor {n}",
    noRooms: "No rooms on record",
    truncated: "Too many buildings; showing {n}",
    "use.residential": "residential",
    "use.school": "school",
    "use.kindergarten": "kindergarten",
    "use.commercial": "commercial",
    "use.elderly_care": "elderly care",
    "use.health": "health",
    "use.mixed": "mixed use",
    "use.office": "office",
    "use.industrial": "industrial",
    "use.public": "public services",
    "use.education": "education",
    signInTitle: "Sign in",
    username: "User name",
    password: "Password",
    signIn: "Sign in",
    signOut: "Sign out",
    signInFailed: "Wrong user name or password",
    scope: "Area",
  },
};

const state = {
  lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh",
  summary: null,
  units: { district: null, street: null, community: null },
  breaks: [],
  selected: null, // {kind: "unit"|"building", props}
  zoom: null,
  pointBuildings: false, // whether the buildings on the map include points (circles)
  session: null, // {token, user, role, scope}
  chart: null,
};

const $ = (id) => document.getElementById(id);

function t(key, vars = {}) {
  const text = I18N[state.lang][key] ?? I18N.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// A building's use in the page's language; a word no code stands for, as written.
function useLabel(use) {
  if (use === null || use === undefined || use === "") return "–";
  return I18N[state.lang][`use.${use}`] ?? use;
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const locale = state.lang === "zh" ? "zh-CN" : "en-US";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
}

function setMapState(mapState, message) {
  document.body.dataset.mapState = mapState;
  if (mapState === "error") {
    document.body.dataset.mapError = message;
    $("map-status").textContent = t("failed") + message;
  }
}

// ---- session ----

function readSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
  } catch {
    return null;
  }
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
}

// Show the sign-in form until the server issues a token; resolves with the session.
function askSignIn() {
  $("login").hidden = false;
  $("login-user").focus();
  return new Promise((resolve) => {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      const response = await fetch(new URL("token", API), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: $("login-user").value, password: $("login-password").value }),
      });
      if (!response.ok) {
        $("login-error").textContent = t("signInFailed");
        return;
      }
      const body = await response.json();
      const session = { token: body.access_token, user: $("login-user").value, role: body.role, scope: body.scope };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      $("login").hidden = true;
      resolve(session);
    });
  });
}

function renderUser() {
  const s = state.session;
  $("user-bar").hidden = !s;
  if (s) $("user-info").textContent = `${s.user} · ${s.role} · ${t("scope")} ${s.scope}`;
}

async function getJSON(path) {
  const headers = state.session ? { Authorization: `Bearer ${state.session.token}` } : {};
  const response = await fetch(new URL(path, API), { headers });
  if (response.status === 401) signOut(); // expired or revoked: sign in again
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
    throw new Error(`${response.status} ${detail}`);
  }
  return body;
}

// ---- classes and legend ----

function renderLegend() {
  const list = $("legend-classes");
  list.replaceChildren();
  const colours = classColours(state.breaks);
  const bounds = [null, ...state.breaks, null];
  colours.forEach((colour, i) => {
    const lo = bounds[i];
    const hi = bounds[i + 1];
    let label;
    if (lo === null && hi === null) label = t("residents");
    else if (lo === null) label = `< ${fmt(hi)}`;
    else if (hi === null) label = `≥ ${fmt(lo)}`;
    else label = hi - 1 > lo ? `${fmt(lo)} – ${fmt(hi - 1)}` : fmt(lo);
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    const text = document.createElement("span");
    text.textContent = label;
    item.append(swatch, text);
    list.append(item);
  });
  renderUseLegend();
  renderSizeLegend();
}

function legendItem(swatch, label) {
  const item = document.createElement("li");
  const text = document.createElement("span");
  text.textContent = label;
  item.append(swatch, text);
  return item;
}

function renderUseLegend() {
  const list = $("legend-uses");
  list.replaceChildren(
    ...[...USE_CLASSES, OTHER_USE].map((c) => {
      const swatch = document.createElement("span");
      swatch.className = "swatch use";
      swatch.style.background = c.colour;
      return legendItem(swatch, t(`useClass.${c.id}`));
    }),
  );
}

// Circles as the map draws them at the current zoom (from BUILDING_MIN_ZOOM on), shown
// only while the buildings on the map include points.
function renderSizeLegend() {
  const box = $("legend-sizes");
  box.hidden = !state.pointBuildings;
  if (box.hidden) return;
  const zoom = Math.max(state.zoom ?? BUILDING_MIN_ZOOM, BUILDING_MIN_ZOOM);
  const slotWidth = 2 * circleRadius(Math.max(...LEGEND_RESIDENTS), zoom);
  const circle = (resident, className) => {
    const slot = document.createElement("span");
    slot.className = "circle-slot";
    slot.style.width = `${slotWidth.toFixed(1)}px`;
    const dot = document.createElement("span");
    dot.className = className;
    const d = 2 * circleRadius(resident, zoom);
    dot.style.width = dot.style.height = `${d.toFixed(1)}px`;
    slot.append(dot);
    return slot;
  };
  const list = $("legend-size-list");
  list.replaceChildren(
    ...LEGEND_RESIDENTS.map((n) => legendItem(circle(n, "swatch-circle"), `${fmt(n)} ${t("persons")}`.trim())),
    legendItem(circle(SUPPRESSED_DRAWN_AS, "swatch-circle suppressed"), t("legendSuppressed")),
  );
}

// ---- panel ----

function renderStaticText() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("pageTitle");
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  $("lang-switch").textContent = t("switchTo");
}

function renderSummary() {
  const s = state.summary;
  if (!s) return;
  $("region-name").textContent = [s.region.name, s.region.code].filter(Boolean).join(" · ");
  $("total-resident").textContent = fmt(s.totals.resident);
  for (const level of ["district", "street", "community"]) {
    $(`count-${level}`).textContent = fmt(s.totals.units[level] ?? 0);
  }
  const created = s.created ? new Date(s.created) : null;
  const when = created && !Number.isNaN(created.getTime())
    ? created.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB")
    : s.created ?? "–";
  $("snapshot-info").textContent = `${t("snapshot")} ${s.snapshot} · ${t("created")} ${when}`;
}

function figureRows(rows) {
  const dl = document.createElement("dl");
  dl.className = "figures";
  for (const [label, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
  return dl;
}

function renderSelection() {
  const body = $("selection-body");
  body.replaceChildren();
  const sel = state.selected;
  if (!sel) {
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = t("selectionHint");
    body.append(hint);
    return;
  }
  const p = sel.props;
  const name = document.createElement("p");
  name.className = "unit-name";
  const meta = document.createElement("p");
  meta.className = "unit-meta";
  const persons = t("persons");
  if (sel.kind === "unit") {
    name.textContent = p.name;
    const parent = findUnit(p.parent_code);
    meta.textContent = [t(`level.${p.level}`), `${t("code")} ${p.code}`, parent ? `${t("parent")} ${parent.name}` : ""]
      .filter(Boolean)
      .join(" · ");
    body.append(name, meta, figureRows([
      [t("residents"), `${fmt(p.resident)} ${persons}`.trim()],
      [t("households"), fmt(p.households)],
      [t("density"), `${fmt(p.density)} ${t("densityUnit")}`],
      [t("area"), `${fmt(p.area_km2, 2)} ${t("areaUnit")}`],
    ]));
    const r = sel.residency;
    if (r) {
      // 人户状态 of the unit as /api/residency serves it ("–" where a count is not shown).
      body.append(figureRows([
        [t("usualResidents"), fmt(r.usual_resident)],
        [t("floating"), fmt(r.floating)],
        [t("registered"), fmt(r.registered)],
        [t("absent"), fmt(r.absent)],
        [t("unknown"), fmt(r.unknown)],
      ]));
      if (r.unknown) {
        const note = document.createElement("p");
        note.className = "hint";
        note.textContent = t("unknownNote");
        body.append(note);
      }
    }
  } else {
    name.textContent = p.address || p.building_id;
    meta.textContent = `${t("building")} · ${p.building_id}`;
    body.append(name, meta, figureRows([
      [t("use"), useLabel(p.use)],
      [t("floors"), fmt(p.floors)],
      [t("buildingResidents"), `${fmt(p.resident)} ${persons}`.trim()],
      [t("households"), fmt(sel.occupancy?.households)],
    ]), roomList(sel));
  }
}

// A building's rooms floor by floor, each with its residents ("–" where not shown).
function roomList(sel) {
  const box = document.createElement("div");
  box.className = "rooms";
  const title = document.createElement("h3");
  title.textContent = t("rooms");
  box.append(title);
  const rooms = sel.occupancy?.rooms;
  if (!rooms || !rooms.length) {
    const note = document.createElement("p");
    note.className = "hint small";
    note.textContent = sel.roomsError ? t("failed") + sel.roomsError : rooms ? t("noRooms") : t("loading");
    box.append(note);
    return box;
  }
  const floors = new Map();
  for (const room of rooms) {
    const floor = room.floor ?? "?";
    if (!floors.has(floor)) floors.set(floor, []);
    floors.get(floor).push(room);
  }
  const table = document.createElement("table");
  for (const [floor, onFloor] of floors) {
    const row = table.insertRow();
    const head = document.createElement("th");
    head.textContent = t("floorN", { n: floor });
    const cell = row.insertCell();
    cell.textContent = onFloor.map((r) => `${r.room_no ?? r.room_id} (${fmt(r.resident)})`).join(" · ");
    row.prepend(head);
  }
  box.append(table);
  return box;
}

async function loadRooms(buildingId) {
  const current = () => state.selected?.kind === "building" && state.selected.props.building_id === buildingId;
  try {
    const occupancy = await getJSON(`buildings/${encodeURIComponent(buildingId)}/rooms`);
    if (current()) state.selected.occupancy = occupancy;
  } catch (err) {
    if (current()) state.selected.roomsError = err.message;
  }
  if (current()) renderSelection();
}

// A unit's residency counts; a role without aggregate counts simply sees none.
async function loadResidency(code) {
  const current = () => state.selected?.kind === "unit" && state.selected.props.code === code;
  try {
    const body = await getJSON(`residency?unit=${encodeURIComponent(code)}`);
    if (current()) state.selected.residency = body.unit;
  } catch (err) {
    console.warn("popbase: residency counts unavailable:", err);
  }
  if (current()) renderSelection();
}

function findUnit(code) {
  for (const level of ["community", "street", "district"]) {
    const hit = state.units[level]?.features.find((f) => f.properties.code === code);
    if (hit) return hit.properties;
  }
  return null;
}

function renderAll() {
  renderStaticText();
  renderUser();
  renderSummary();
  renderLegend();
  renderSelection();
  renderChart();
}

// ---- chart (optional: the map works without it) ----

function renderChart() {
  if (state.chart) renderTopChart(state.chart, topCommunities(state.units.community), t("residents"));
}

async function startChart(map) {
  try {
    const url = new URL("echarts.esm.min.mjs", VENDOR).href;
    $("top-card").hidden = false; // shown first: ECharts sizes itself to its container
    state.chart = await startTopChart($("top-chart"), url, (code) => selectUnit(map, code, true));
    renderChart();
  } catch (err) {
    $("top-card").hidden = true;
    console.warn("popbase: chart unavailable:", err);
  }
}

// ---- map ----

function selectUnit(map, code, fly = false) {
  const feature = state.units.community?.features.find((f) => f.properties.code === code);
  const props = feature ? feature.properties : findUnit(code);
  if (!props) return;
  state.selected = { kind: "unit", props };
  highlightCommunity(map, code);
  renderSelection();
  loadResidency(code);
  if (fly && feature) {
    const box = bboxOf(feature.geometry);
    if (box) map.fitBounds(box, { padding: 60, maxZoom: 16, duration: 600 });
  }
}

function wireInteraction(map) {
  const tooltip = $("tooltip");
  let hovered = null;
  map.on("mousemove", (e) => {
    const [hit] = map.queryRenderedFeatures(e.point, { layers: PICKABLE });
    const code = hit && hit.layer.id === "community-fill" ? hit.properties.code : null;
    if (hovered !== code) {
      if (hovered) map.setFeatureState({ source: "communities", id: hovered }, { hover: false });
      if (code) map.setFeatureState({ source: "communities", id: code }, { hover: true });
      hovered = code;
    }
    map.getCanvas().style.cursor = hit ? "pointer" : "";
    if (!hit) {
      tooltip.hidden = true;
      return;
    }
    const p = hit.properties;
    tooltip.textContent = hit.layer.id === "community-fill"
      ? `${p.name} · ${fmt(p.resident)} ${t("persons")}`.trim()
      : `${p.address || p.building_id} · ${fmt(p.resident)} ${t("persons")}`.trim();
    tooltip.style.left = `${e.point.x}px`;
    tooltip.style.top = `${e.point.y}px`;
    tooltip.hidden = false;
  });
  map.on("mouseout", () => {
    tooltip.hidden = true;
  });
  map.on("click", (e) => {
    const [hit] = map.queryRenderedFeatures(e.point, { layers: PICKABLE });
    if (!hit) return;
    if (hit.layer.id !== "community-fill") {
      state.selected = { kind: "building", props: hit.properties };
      renderSelection();
      loadRooms(hit.properties.building_id);
    } else {
      selectUnit(map, hit.properties.code);
    }
  });
}

async function main() {
  renderStaticText();
  $("lang-switch").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, state.lang);
    renderAll();
  });
  $("sign-out").addEventListener("click", signOut);
  state.session = readSession() ?? (await askSignIn());
  renderUser();

  let maplibregl;
  try {
    maplibregl = await import(new URL("maplibre-gl.mjs", VENDOR).href);
  } catch (err) {
    console.error(err);
    setMapState("error", t("noLibrary"));
    return;
  }
  // Found from import.meta.url by default; said here so a move of the files stays visible.
  maplibregl.setWorkerUrl(new URL("maplibre-gl-worker.mjs", VENDOR).href);

  const map = new maplibregl.Map({
    container: "map",
    style: BASE_STYLE,
    center: [121.47, 31.23],
    zoom: 9,
    maxZoom: 19,
    attributionControl: false,
  });
  window.popbaseMap = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  map.on("error", (ev) => {
    const message = ev.error?.message ?? String(ev.error);
    console.error("popbase map:", message);
    if (document.body.dataset.mapState !== "idle") setMapState("error", message);
  });
  const loaded = new Promise((resolve) => map.once("load", resolve));

  try {
    const [summary, community, street, district] = await Promise.all([
      getJSON("summary"),
      getJSON("units?level=community"),
      getJSON("units?level=street"),
      getJSON("units?level=district"),
    ]);
    Object.assign(state, { summary, units: { community, street, district } });
  } catch (err) {
    console.error("popbase: loading the base failed:", err);
    setMapState("error", err.message);
    return;
  }
  state.breaks = quantileBreaks(state.units.community.features.map((f) => f.properties.resident), PALETTE.length);
  renderAll();
  await loaded;
  addLayers(map, state.units, state.breaks);
  wireInteraction(map);
  watchBuildings(
    map,
    async (bbox) => withUseClasses(await getJSON(`buildings?bbox=${bbox}&limit=${BUILDING_LIMIT}`)),
    (data) => {
      $("building-note").textContent = data?.truncated ? t("truncated", { n: fmt(data.features.length) }) : "";
      const points = Boolean(data?.features.some((f) => f.geometry?.type === "Point"));
      if (points !== state.pointBuildings) {
        state.pointBuildings = points;
        renderSizeLegend();
      }
    },
  );
  map.on("zoomend", () => {
    state.zoom = map.getZoom();
    renderSizeLegend();
  });
  const box = state.units.community.bbox ?? state.units.street.bbox ?? state.units.district.bbox;
  if (box) map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 32, duration: 0 });
  whenCommunitiesDrawn(map, () => setMapState("idle"));
  startChart(map);
}

main();
