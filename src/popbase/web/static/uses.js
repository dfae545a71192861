// Building uses as the map colours them. A build stores canonical codes (residential,
// mixed, office …); a snapshot built before the words dictionary, or a code this list
// does not know, may hold the word a department wrote (住宅, 商住两用, 工业厂房 …), so a
// use is matched by its code first, then by the words it contains: first the words that
// name two uses at once (商住, 住宅商业混合: mixed, though they hold 住宅), then the other
// classes in the order below (商务办公 is office before 商业 could make it commercial).
// The legend lists the classes in the same order.

export const USE_CLASSES = [
  {
    id: "residential",
    colour: "#3d4b59",
    codes: ["residential", "housing", "dwelling", "apartment", "dormitory", "village_house"],
    words: ["住宅", "居住", "住房", "公寓", "民宅", "民房", "农房", "宿舍"],
  },
  {
    id: "mixed",
    colour: "#8e5cb5",
    codes: ["mixed", "mixed_use", "residential_commercial"],
    words: ["商住", "混合", "综合", "两用"],
  },
  {
    id: "office",
    colour: "#2b63b8",
    codes: ["office", "business"],
    words: ["办公", "写字楼", "商务"],
  },
  {
    id: "commercial",
    colour: "#e07b24",
    codes: ["commercial", "retail", "shop", "hotel", "market"],
    words: ["商业", "商铺", "商场", "商服", "商用", "零售", "市场", "酒店", "宾馆", "餐饮"],
  },
  {
    id: "industrial",
    colour: "#7a5c48",
    codes: ["industrial", "industry", "factory", "warehouse", "logistics"],
    words: ["工业", "厂房", "工厂", "仓储", "仓库", "物流"],
  },
  {
    id: "education",
    colour: "#2e8b57",
    codes: ["education", "school", "kindergarten", "university"],
    words: ["教育", "学校", "幼儿园", "托儿", "小学", "中学", "大学", "学院"],
  },
  {
    id: "health",
    colour: "#d0314f",
    codes: ["health", "hospital", "clinic", "medical"],
    words: ["医疗", "医院", "卫生", "诊所"],
  },
  {
    id: "elderly_care",
    colour: "#c9a227",
    codes: ["elderly_care", "elderly", "care_home", "nursing_home"],
    words: ["养老", "敬老", "老年"],
  },
  {
    id: "public",
    colour: "#14939b",
    codes: ["public", "government", "civic", "culture", "sports", "religious"],
    words: ["公共", "公建", "行政", "机关", "政府", "文化", "体育", "社区服务", "市政", "宗教"],
  },
];
// Uses none of the classes matches, and buildings whose use is not given.
export const OTHER_USE = { id: "other", colour: "#98a2ad" };

const MIXED = USE_CLASSES.find((c) => c.id === "mixed");
const BY_CODE = new Map(USE_CLASSES.flatMap((c) => c.codes.map((code) => [code, c.id])));

// The class a use value falls in ("other" when none matches or it is blank).
export function useClass(value) {
  if (value === null || value === undefined) return OTHER_USE.id;
  const text = String(value).trim();
  const code = BY_CODE.get(text.toLowerCase().replace(/[\s-]+/g, "_"));
  if (code) return code;
  const says = (c) => c.words.some((w) => text.includes(w));
  const hit = (says(MIXED) ? MIXED : null) ?? USE_CLASSES.find(says);
  return hit ? hit.id : OTHER_USE.id;
}

// Adds each building's `use_class` to a FeatureCollection served by /api/buildings.
export function withUseClasses(collection) {
  for (const feature of collection.features) {
    feature.properties.use_class = useClass(feature.properties.use);
  }
  return collection;
}

// A MapLibre expression giving each class its colour.
export function useColour() {
  const expr = ["match", ["get", "use_class"]];
  for (const c of USE_CLASSES) expr.push(c.id, c.colour);
  expr.push(OTHER_USE.colour);
  return expr;
}
