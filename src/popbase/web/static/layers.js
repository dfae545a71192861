// The map's sources and layers, and the choropleth classes. Only GeoJSON from this
// server: the style has a background layer and nothing that loads tiles, fonts or glyphs.

// Sequential palette (ColorBrewer YlOrRd), light to dark; classes are data quantiles.
export const PALETTE = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
export const BUILDING_MIN_ZOOM = 14;
export const PICKABLE = ["building-fill", "community-fill"];
const RESIDENTIAL_BUILDING = "#3d4b59";
const OTHER_BUILDING = "#7a5c48";

export const BASE_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f5" } }],
};

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
    paint: {
      "fill-color": ["match", ["get", "use"], "residential", RESIDENTIAL_BUILDING, OTHER_BUILDING],
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
