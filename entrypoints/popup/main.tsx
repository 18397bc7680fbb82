import { render } from 'preact';
import { PopupApp } from '../../ui/popup/popup-app';
import 'uplot/dist/uPlot.min.css';
import '../../ui/popup/popup.css';

const root = document.getElementById('app');
if (root) render(<PopupApp />, root);
