//! Something the loop can draw on: the real terminal (each frame wrapped in
//! synchronized output so a slow link never shows half a frame) or a
//! `TestBackend` terminal in tests.

use std::io::{self, Write};

use crossterm::queue;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::{Rect, Size};

use crate::app::App;
use crate::ui::{self, Look};
use crate::view::ViewModel;

pub trait Screen {
    fn area(&self) -> io::Result<Rect>;
    fn draw(&mut self, app: &App, vm: &ViewModel, look: &Look) -> io::Result<()>;
    /// Writes bytes that are not a frame (an OSC 52 copy) through the same
    /// writer as the frames, so they never land inside one.
    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()>;
}

fn area_of(size: Size) -> Rect {
    Rect::new(0, 0, size.width, size.height)
}

impl<W: Write> Screen for Terminal<CrosstermBackend<W>> {
    fn area(&self) -> io::Result<Rect> {
        self.size().map(area_of)
    }

    fn draw(&mut self, app: &App, vm: &ViewModel, look: &Look) -> io::Result<()> {
        queue!(self.backend_mut(), BeginSynchronizedUpdate)?;
        let drawn = Terminal::draw(self, |f| ui::render(f, app, vm, look)).map(|_| ());
        // End the update even if drawing failed, or the terminal stays frozen.
        queue!(self.backend_mut(), EndSynchronizedUpdate)?;
        self.backend_mut().flush()?;
        drawn
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.backend_mut().write_all(bytes)?;
        self.backend_mut().flush()
    }
}

impl Screen for Terminal<TestBackend> {
    fn area(&self) -> io::Result<Rect> {
        self.size().map(area_of).map_err(io::Error::other)
    }

    fn draw(&mut self, app: &App, vm: &ViewModel, look: &Look) -> io::Result<()> {
        Terminal::draw(self, |f| ui::render(f, app, vm, look))
            .map(|_| ())
            .map_err(io::Error::other)
    }

    /// A test screen has no clipboard: the bytes go nowhere.
    fn write_raw(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}
