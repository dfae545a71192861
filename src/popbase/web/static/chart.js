// The panel's bar chart of the communities with the most residents (Apache ECharts).
// Optional: the dashboard works without it if the library cannot load.

const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';
const TOP = 10;

export function topCommunities(collection) {
  return (collection?.features ?? [])
    .map((f) => f.properties)
    .filter((p) => Number.isFinite(p.resident))
    .sort((a, b) => b.resident - a.resident)
    .slice(0, TOP)
    .reverse(); // ECharts draws categories bottom-up: largest on top
}

// Create the chart in `container`; `onPick(code)` runs when a bar is clicked.
export async function startTopChart(container, echartsUrl, onPick) {
  const echarts = await import(echartsUrl);
  const chart = echarts.init(container, null, { renderer: "canvas" });
  chart.on("click", (ev) => onPick(ev.data.code));
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

export function renderTopChart(chart, communities, seriesName) {
  chart.setOption(
    {
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 44, top: 4, bottom: 4, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", show: false },
      yAxis: {
        type: "category",
        data: communities.map((p) => p.name),
        axisTick: { show: false },
        axisLine: { lineStyle: { color: "#c9d1da" } },
        axisLabel: { color: "#1d2733", fontSize: 11, width: 120, overflow: "truncate" },
      },
      series: [
        {
          type: "bar",
          name: seriesName,
          data: communities.map((p) => ({ value: p.resident, code: p.code })),
          barMaxWidth: 14,
          itemStyle: { color: "#f03b20", borderRadius: [0, 3, 3, 0] },
          label: { show: true, position: "right", color: "#5b6878", fontSize: 11 },
        },
      ],
    },
    true,
  );
}
