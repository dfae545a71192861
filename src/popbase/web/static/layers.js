// The map's sources and layers, and the choropleth classes. Only GeoJSON from this
// server: the style has a background layer and nothing that loads tiles, fonts or glyphs.
// Names are drawn from the fonts installed on the machine: a style without `glyphs`
// makes MapLibre (GL JS 5.11 and later) draw every glyph locally, in the `text-font`
// families, so Chinese labels need no glyph server.

import { useColour } from "./uses.js";

// Sequential palette (ColorBrewer YlOrRd), light to dark; classes are data quantiles.
export const PALETTE = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
// Buildings are fetched and drawn from this zoom: below it the committees' choropleth is
// the reading of where people live (a district holds tens of thousands of buildings, whose
// circles would merge into one blot, and the request's limit would cut them short).
export const BUILDING_MIN_ZOOM = 14;
export const STREET_LABEL_MIN_ZOOM = 10;
export const COMMUNITY_LABEL_MIN_ZOOM = 13;
// Clicks and hovers look at these layers, first hit first.
export const PICKABLE = ["building-circle", "building-fill", "community-fill"];
// The CSS font families labels are drawn in, CJK fonts first (as style.css for the page).
const LABEL_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei"];

// A building given as a point is a circle whose area grows with its residents: radius
// = base + perResident * sqrt(residents) pixels, interpolated between these zooms.
export const CIRCLE_RADII = [
  { zoom: BUILDING_MIN_ZOOM, base: 2.5, perResident: 0.3 },
  { zoom: 16, base: 4, perResident: 0.8 },
  { zoom: 18, base: 6, perResident: 1.8 },
];
// A suppressed count (null for department roles) is drawn hollow, at one size for all,
// so that its size says nothing of the count: that of this many residents, the top of
// the small-cell range (complementary suppression hides larger counts too).
export const SUPPRESSED_DRAWN_AS = 10;

export const BASE_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f5" } }],
};

// Radius in pixels of a circle for `resident` persons at `zoom`, as the map draws it.
export function circleRadius(resident, zoom) {
  const at = (stop) => stop.base + stop.perResident * Math.sqrt(Math.max(resident, 0));
  const stops = CIRCLE_RADII;
  if (zoom <= stops[0].zoom) return at(stops[0]);
  for (let i = 1; i < stops.length; i += 1) {
    if (zoom <= stops[i].zoom) {
      const f = (zoom - stops[i - 1].zoom) / (stops[i].zoom - stops[i - 1].zoom);
      return at(stops[i - 1]) + f * (at(stops[i]) - at(stops[i - 1]));
    }
  }
  return at(stops[stops.length - 1]);
}

// A count not shown: null in the served GeoJSON (or missing).
const SUPPRESSED = ["!=", ["typeof", ["get", "resident"]], "number"];
const RESIDENTS = ["max", ["to-number", ["get", "resident"]], 0];

function circleRadiusExpression() {
  const expr = ["interpolate", ["linear"], ["zoom"]];
  for (const stop of CIRCLE_RADII) {
    const count = ["case", SUPPRESSED, SUPPRESSED_DRAWN_AS, RESIDENTS];
    expr.push(stop.zoom, ["+", stop.base, ["*", stop.perResident, ["sqrt", count]]]);
  }
  return expr;
}

// The point where each unit's name is written (the server's label_lon/label_lat).
export function labelPoints(units) {
  const features = (units?.features ?? [])
    .filter((f) => Number.isFinite(f.properties.label_lon) && Number.isFinite(f.properties.label_lat))
    .map((f) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: [f.properties.label_lon, f.properties.label_lat] },
      properties: { code: f.properties.code, name: f.properties.name, level: f.properties.level },
    }));
  return { type: "FeatureCollection", features };
}

export function emptyCollection() {
  return { type: "FeatureCollection", features: [] };
}

// Up to `classes` - 1 breaks at the values' quantiles, strictly ascending (as MapLibre's
// step expressions need) and above the smallest value, so no class is empty.
export function quantileBreaks(values, classes) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const breaks = [];
  for (let i = 1; i < classes; i += 1) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / classes))];
    if (q > sorted[0] && (breaks.length === 0 || q > breaks[breaks.length - 1])) breaks.push(q);
  }
  return breaks;
}

// One colour per class, spread over the whole palette when there are fewer classes.
export function classColours(breaks) {
  if (breaks.length === 0) return [PALETTE[Math.floor(PALETTE.length / 2)]];
  const last = PALETTE.length - 1;
  return [PALETTE[0], ...breaks.map((_, i) => PALETTE[Math.round(((i + 1) * last) / breaks.length)])];
}

function fillColor(breaks) {
  const colours = classColours(breaks);
  if (breaks.length === 0) return colours[0];
  const expr = ["step", ["coalesce", ["get", "resident"], 0], colours[0]];
  breaks.forEach((b, i) => expr.push(b, colours[i + 1]));
  return expr;
}

const byZoom = (low, high) => ["interpolate", ["linear"], ["zoom"], 9, low, 15, high];

export function addLayers(map, units, breaks) {
  map.addSource("communities", { type: "geojson", data: units.community, promoteId: "code" });
  map.addSource("streets", { type: "geojson", data: units.street });
  map.addSource("districts", { type: "geojson", data: units.district });
  map.addSource("buildings", { type: "geojson", data: emptyCollection() });
  map.addSource("street-labels", { type: "geojson", data: labelPoints(units.street) });
  map.addSource("community-labels", { type: "geojson", data: labelPoints(units.community) });
  map.addLayer({
    id: "community-fill",
    type: "fill",
    source: "communities",
    paint: {
      "fill-color": fillColor(breaks),
      // Fainter when zoomed in, so that building footprints stand out.
      "fill-opacity": [
        "interpolate", ["linear"], ["zoom"],
        BUILDING_MIN_ZOOM - 1, ["case", ["boolean", ["feature-state", "hover"], false], 0.95, 0.82],
        BUILDING_MIN_ZOOM + 1, ["case", ["boolean", ["feature-state", "hover"], false], 0.6, 0.4],
      ],
    },
  });
  map.addLayer({
    id: "community-line",
    type: "line",
    source: "communities",
    paint: { "line-color": "#ffffff", "line-width": 0.8, "line-opacity": 0.9 },
  });
  map.addLayer({
    id: "building-fill",
    type: "fill",
    source: "buildings",
    minzoom: BUILDING_MIN_ZOOM,
    // Points are left to the circles (a fill layer would still list them as its features).
    filter: ["!=", ["geometry-type"], "Point"],
    paint: {
      "fill-color": useColour(),
      "fill-opacity": 0.85,
      "fill-outline-color": "#2c3742",
    },
  });
  map.addLayer({
    id: "street-line",
    type: "line",
    source: "streets",
    paint: { "line-color": "#4a5a6a", "line-width": byZoom(1.2, 2.6) },
  });
  map.addLayer({
    id: "district-line",
    type: "line",
    source: "districts",
    paint: { "line-color": "#1d2733", "line-width": byZoom(2, 4) },
  });
  map.addLayer({
    id: "community-selected",
    type: "line",
    source: "communities",
    filter: ["==", ["get", "code"], ""],
    paint: { "line-color": "#1f3a5f", "line-width": 3.5 },
  });
  // Above the lines: a circle must not hide under a boundary it is clicked through.
  map.addLayer({
    id: "building-circle",
    type: "circle",
    source: "buildings",
    minzoom: BUILDING_MIN_ZOOM,
    // A circle layer would also draw a dot on every vertex of a footprint.
    filter: ["==", ["geometry-type"], "Point"],
    layout: {
      // Small circles over big ones, so that none is hidden.
      "circle-sort-key": ["-", 0, ["case", SUPPRESSED, SUPPRESSED_DRAWN_AS, RESIDENTS]],
    },
    paint: {
      "circle-radius": circleRadiusExpression(),
      "circle-color": ["case", SUPPRESSED, "#ffffff", useColour()],
      "circle-opacity": 0.85,
      "circle-stroke-color": ["case", SUPPRESSED, useColour(), "#ffffff"],
      "circle-stroke-width": ["case", SUPPRESSED, 2, 0.8],
    },
  });
  addLabels(map);
}

// Street names from STREET_LABEL_MIN_ZOOM, committee names from COMMUNITY_LABEL_MIN_ZOOM;
// streets are the upper layer, so where two collide the street's name is kept.
function addLabels(map) {
  const halo = { "text-halo-color": "rgba(255, 255, 255, 0.92)", "text-halo-width": 1.6 };
  map.addLayer({
    id: "community-label",
    type: "symbol",
    source: "community-labels",
    minzoom: COMMUNITY_LABEL_MIN_ZOOM,
    layout: {
      "text-field": ["get", "name"],
      "text-font": LABEL_FONTS,
      "text-size": ["interpolate", ["linear"], ["zoom"], COMMUNITY_LABEL_MIN_ZOOM, 11, 17, 14],
      "text-max-width": 7,
      "text-padding": 4,
    },
    paint: { "text-color": "#33414f", ...halo },
  });
  map.addLayer({
    id: "street-label",
    type: "symbol",
    source: "street-labels",
    minzoom: STREET_LABEL_MIN_ZOOM,
    // Once the committees are named, a street's name is only a repeat of the panel's.
    maxzoom: 16,
    layout: {
      "text-field": ["get", "name"],
      "text-font": LABEL_FONTS,
      "text-size": ["interpolate", ["linear"], ["zoom"], STREET_LABEL_MIN_ZOOM, 13, 15, 17],
      "text-letter-spacing": 0.08,
      "text-max-width": 8,
      "text-padding": 6,
    },
    paint: { "text-color": "#1d2733", ...halo, "text-halo-width": 2 },
  });
}

export function highlightCommunity(map, code) {
  map.setFilter("community-selected", ["==", ["get", "code"], code ?? ""]);
}

export function bboxOf(geometry) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] !== "number") {
      c.forEach(visit);
      return;
    }
    box = box
      ? [Math.min(box[0], c[0]), Math.min(box[1], c[1]), Math.max(box[2], c[0]), Math.max(box[3], c[1])]
      : [c[0], c[1], c[0], c[1]];
  };
  if (geometry) visit(geometry.coordinates);
  return box;
}

// Buildings of the visible area, fetched on `moveend` from zoom BUILDING_MIN_ZOOM on.
// `load(bbox)` returns the FeatureCollection; answers to superseded views are dropped.
export function watchBuildings(map, load, onLoaded) {
  let request = 0;
  let timer = null;
  const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v));
  const refresh = async () => {
    const source = map.getSource("buildings");
    const ticket = ++request;
    if (map.getZoom() < BUILDING_MIN_ZOOM) {
      source.setData(emptyCollection());
      onLoaded(null);
      return;
    }
    const b = map.getBounds();
    const bbox = [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)]
      .map((v) => v.toFixed(6))
      .join(",");
    try {
      const data = await load(bbox);
      if (ticket !== request) return;
      source.setData(data);
      onLoaded(data);
    } catch (err) {
      console.error("popbase: loading buildings failed:", err);
    }
  };
  map.on("moveend", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  });
}

// Calls `onIdle` once the map is idle with the community layer's data drawn.
export function whenCommunitiesDrawn(map, onIdle) {
  const check = () => {
    if (map.isSourceLoaded("communities") && map.loaded()) onIdle();
    else map.once("idle", check);
  };
  map.once("idle", check);
}
