// FraudWorkbench's only script of its own: loaded as a file (the CSP allows no inline scripts and no eval).
// - Chart downloads: one delegated click handler for the [data-chart-svg] / [data-chart-png] buttons the server renders next to a chart.
// - Theme: the remembered light/dark choice, falling back to the browser's prefers-color-scheme.
(() => {
    'use strict';
    const themeKey = 'fw-theme';

    const theme = {
        /** The stored choice, else the browser's preference: 'dark' or 'light'. */
        get() {
            let stored = null;
            try { stored = localStorage.getItem(themeKey); } catch { /* storage may be blocked: follow the browser */ }
            if (stored === 'dark' || stored === 'light') return stored;
            return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
        },
        /** Remembers the choice across reloads and marks the document for CSS outside MudBlazor. */
        set(value) {
            const choice = value === 'dark' ? 'dark' : 'light';
            try { localStorage.setItem(themeKey, choice); } catch { /* not remembered, still applied */ }
            document.documentElement.dataset.theme = choice;
            return choice;
        },
    };

    window.fraudWorkbench = Object.freeze({ theme: Object.freeze(theme) });
    document.documentElement.dataset.theme = theme.get();

    function svgText(svg) {
        const xml = new XMLSerializer().serializeToString(svg);
        return xml.includes('xmlns=') ? xml : xml.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"');
    }

    function svgDataUri(svg) {
        const bytes = new TextEncoder().encode(svgText(svg));
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return 'data:image/svg+xml;base64,' + btoa(binary);
    }

    function save(href, name) {
        const anchor = document.createElement('a');
        anchor.href = href;
        anchor.download = name;
        document.body.appendChild(anchor);
        anchor.click();
        anchor.remove();
    }

    function downloadSvg(button) {
        const svg = button.closest('figure')?.querySelector('svg');
        if (!svg) return;
        const url = URL.createObjectURL(new Blob([svgText(svg)], { type: 'image/svg+xml' }));
        save(url, button.dataset.chartSvg || 'chart.svg');
        setTimeout(() => URL.revokeObjectURL(url), 10000);
    }

    function downloadPng(button) {
        const figure = button.closest('figure');
        const svg = figure && figure.querySelector('svg');
        if (!svg) return;
        const view = svg.viewBox && svg.viewBox.baseVal;
        const width = view && view.width > 0 ? view.width : svg.width.baseVal.value;
        const height = view && view.height > 0 ? view.height : svg.height.baseVal.value;
        const image = new Image();
        image.onload = () => {
            // Twice the drawing's own size: sharp on high-density screens and in slides.
            const canvas = document.createElement('canvas');
            canvas.width = width * 2;
            canvas.height = height * 2;
            const context = canvas.getContext('2d');
            context.scale(2, 2);
            context.fillStyle = '#ffffff';
            context.fillRect(0, 0, width, height);
            context.drawImage(image, 0, 0, width, height);
            save(canvas.toDataURL('image/png'), button.dataset.chartPng || 'chart.png');
        };
        image.onerror = () => console.error('FraudWorkbench: the chart could not be drawn as PNG');
        image.src = svgDataUri(svg);
    }

    document.addEventListener('click', event => {
        const button = event.target instanceof Element ? event.target.closest('[data-chart-png], [data-chart-svg]') : null;
        if (!button) return;
        event.preventDefault();
        if (button.dataset.chartSvg) downloadSvg(button);
        else downloadPng(button);
    });
})();
